# `caselink synth` and `caselink truth`: the synthetic federation and its ground truth.
target_sources(caselink PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/synth.c
  ${CMAKE_CURRENT_SOURCE_DIR}/synth_names.c
  ${CMAKE_CURRENT_SOURCE_DIR}/truth.c)
