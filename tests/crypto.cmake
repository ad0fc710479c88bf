# tests/crypto.cmake: hash-to-curve and OPRF against the published RFC 9380 / RFC 9497 vectors
# (read with jansson from CASELINK_SHARED/vectors) and property tests.
caselink_test(test_h2c SOURCES test_h2c.c testvec.c testskip.c LIBS cl_crypto PkgConfig::JANSSON TIMEOUT 60
              LABELS crypto)
caselink_test(test_oprf SOURCES test_oprf.c testvec.c testskip.c LIBS cl_crypto PkgConfig::JANSSON TIMEOUT 60
              LABELS crypto)
# protocol/seal: boxes to a certificate (the computing parties' seeds through the coordinator).
caselink_test(test_seal SOURCES test_seal.c LIBS cl_crypto cl_transport TIMEOUT 60)
