# Policy engine: federation and node policies (docs/policy.md).
add_library(cl_policy STATIC policy.c)
target_link_libraries(cl_policy PUBLIC cl_yconf Threads::Threads m)
