# VKATTN_SANITIZE builds: every test executable defined after this include gets the sanitizer
# runtime defaults of sanitizer_options.cpp (halt on the first error, stack traces, and the
# LeakSanitizer suppressions in lsan.supp for leaks inside the Vulkan driver and loader).
if(VKATTN_SANITIZE)
  add_library(vkattn_sanitizer_options OBJECT ${CMAKE_CURRENT_LIST_DIR}/sanitizer_options.cpp)
  target_compile_definitions(vkattn_sanitizer_options
                             PRIVATE VKATTN_LSAN_SUPPRESSIONS="${CMAKE_CURRENT_LIST_DIR}/lsan.supp")
  link_libraries(vkattn_sanitizer_options)
  # The vkattn command (defined earlier, so link_libraries misses it) is run by test_cli and
  # loads the same driver: it needs the same pin against the driver-unload leak report.
  if(TARGET vkattn_cli)
    target_link_libraries(vkattn_cli PRIVATE vkattn_sanitizer_options)
  endif()
endif()
