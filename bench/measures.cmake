# bench/measures.cmake: bench_measures.sh and bench_national.sh (shell, no programs of
# their own). ctest runs a tiny smoke variant (5 nodes x 400 events, label bench) so
# that the script keeps working; the figures themselves come from manual runs.
add_test(NAME bench_measures_smoke
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench_measures.sh ${CMAKE_BINARY_DIR} 5x400)
set_tests_properties(bench_measures_smoke PROPERTIES
                     ENVIRONMENT "TMPDIR=${CMAKE_BINARY_DIR}/testtmp"
                     LABELS bench TIMEOUT 120)
