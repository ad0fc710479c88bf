# The coordinator's measure engine M1–M6: hand-built cases and synth ground truth.
caselink_test(test_measures SOURCES test_measures.c synthfed.c LIBS cl_measures cl_common TIMEOUT 180)
add_dependencies(test_measures caselink)
