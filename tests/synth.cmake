# synth: the synthetic federation generator and the reference measure engine.
set(SYNTH_TOOL_SOURCES ${CMAKE_SOURCE_DIR}/tools/synth.c ${CMAKE_SOURCE_DIR}/tools/synth_names.c
    ${CMAKE_SOURCE_DIR}/tools/truth.c)
caselink_test(test_truth SOURCES test_truth.c ${SYNTH_TOOL_SOURCES} LIBS cl_common TIMEOUT 60)
caselink_test(test_synth SOURCES test_synth.c ${SYNTH_TOOL_SOURCES} LIBS cl_common TIMEOUT 120)
add_dependencies(test_synth caselink)
caselink_test(test_synth_import SOURCES test_synth_import.c LIBS cl_common TIMEOUT 180)
add_dependencies(test_synth_import caselink caselink-node)
