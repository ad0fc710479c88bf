# bench/measures.cmake: bench_measures.sh and bench_national.sh (shell, no programs of
# their own). ctest runs a tiny smoke variant (5 nodes x 300 events, four measures, label bench) so
# that the script keeps working; the figures themselves come from manual runs.
add_test(NAME bench_measures_smoke
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench_measures.sh ${CMAKE_BINARY_DIR} 5x300)
set_tests_properties(bench_measures_smoke PROPERTIES
                     ENVIRONMENT "TMPDIR=${CMAKE_BINARY_DIR}/testtmp;BENCH_MEASURES=incident_events M2 M8 M7"
                     LABELS bench TIMEOUT 120)
