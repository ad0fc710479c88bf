# The coordinator's query engine pieces that do not depend on the transport.
add_library(cl_aggregate STATIC aggregate.c)
target_link_libraries(cl_aggregate PUBLIC cl_common)
