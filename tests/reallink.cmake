# The measures with real linkage (issue 5): the coordinator's engines on the linker's persons
# (caselink linkage-eval --links-out) equal the reference on them (caselink truth --links), and
# the difference from the answer on true links is attributed to the linkage errors.
caselink_test(test_measures_linked SOURCES test_measures_linked.c synthfed.c synthcases.c
  LIBS cl_cases cl_measures cl_common TIMEOUT 120)
add_dependencies(test_measures_linked caselink)
