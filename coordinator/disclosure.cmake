# Disclosure control of researchers' outputs (privacy.md "Disclosure control"):
# differential-privacy noise (cl_dp), small-cell suppression checked by GLPK (cl_suppress),
# the ε ledger and the differencing check (cl_ledger).
add_library(cl_dp STATIC ${CMAKE_CURRENT_LIST_DIR}/dp.c)
target_link_libraries(cl_dp PUBLIC cl_common PkgConfig::OPENSSL m)
# GLPK has no pkg-config file in Debian: found by name (scripts/deps installs libglpk-dev).
find_path(GLPK_INCLUDE_DIR glpk.h REQUIRED)
find_library(GLPK_LIBRARY glpk REQUIRED)
add_library(cl_suppress STATIC ${CMAKE_CURRENT_LIST_DIR}/suppress.c)
target_include_directories(cl_suppress SYSTEM PUBLIC ${GLPK_INCLUDE_DIR})
target_link_libraries(cl_suppress PUBLIC cl_common ${GLPK_LIBRARY} m)
add_library(cl_ledger STATIC ${CMAKE_CURRENT_LIST_DIR}/ledger.c)
target_link_libraries(cl_ledger PUBLIC cl_common PkgConfig::SQLITE Threads::Threads)
