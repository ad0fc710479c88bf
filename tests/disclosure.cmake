# Disclosure control: DP samplers, suppression, ledger and differencing (coordinator/disclosure.cmake).
caselink_test(test_dp SOURCES test_dp.c LIBS cl_dp TIMEOUT 120)
caselink_test(test_suppress SOURCES test_suppress.c LIBS cl_suppress TIMEOUT 120)
caselink_test(test_ledger SOURCES test_ledger.c tmpdb.c LIBS cl_ledger cl_dp PkgConfig::SQLITE TIMEOUT 120)
