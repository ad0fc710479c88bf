# protocol/party: the one error -> gRPC status mapping, and no serve code bypassing it.
caselink_test(test_party SOURCES test_party.c LIBS cl_party TIMEOUT 30)
