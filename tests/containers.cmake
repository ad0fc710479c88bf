# Offline validation of containers/ (Dockerfiles, compose.yaml, k8s/ manifests, the
# entrypoint, bootstrap job and health check run as plain processes): containers/validate.sh.
add_test(NAME containers_validate
         COMMAND bash ${CMAKE_SOURCE_DIR}/containers/validate.sh ${CMAKE_SOURCE_DIR}
                 ${CMAKE_BINARY_DIR}/bin ${CMAKE_BINARY_DIR}/testtmp)
set_tests_properties(containers_validate PROPERTIES ENVIRONMENT "${CASELINK_TEST_ENV}"
                     TIMEOUT 180)
