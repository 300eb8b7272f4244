// SPDX-License-Identifier: MIT
// Sanitizer runtime defaults for every test executable and the vkattn command of a
// VKATTN_SANITIZE build (linked in by tests/sanitizers.cmake). Compiled in rather than set as CTest
// ENVIRONMENT because the tests are discovered by gtest_discover_tests (no place to hang per-test
// properties), and so that `ctest`, `ctest --preset asan` and a test binary run by hand in a
// debugger behave the same. An ASAN_OPTIONS/LSAN_OPTIONS/UBSAN_OPTIONS set by the caller still
// wins: the runtimes parse these defaults first and the environment after.
#include <dlfcn.h>

#include <cstdlib>

#ifndef VKATTN_LSAN_SUPPRESSIONS
#error "VKATTN_LSAN_SUPPRESSIONS must name tests/lsan.supp"
#endif

namespace {

// halt_on_error: the first report fails the test (no "continue after error" noise);
// check_initialization_order/strict_init_order: static-init order bugs in the library.
constexpr const char* kAsan =
    "halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1";
constexpr const char* kLsan = "suppressions=" VKATTN_LSAN_SUPPRESSIONS ":print_suppressions=0";
// The build already makes UB fatal (-fno-sanitize-recover); the stack says where it was.
constexpr const char* kUbsan = "halt_on_error=1:print_stacktrace=1";

// Children inherit the options: test_cli spawns the (also instrumented) vkattn command, which
// loads the same Vulkan driver and needs the same suppressions.
struct ExportToChildren {
  ExportToChildren() {
    setenv("ASAN_OPTIONS", kAsan, 0);
    setenv("LSAN_OPTIONS", kLsan, 0);
    setenv("UBSAN_OPTIONS", kUbsan, 0);
    // Pin lavapipe (see tests/lsan.supp): with this reference held, the loader's dlclose no
    // longer unmaps it, so memory its globals still point to is reachable when LeakSanitizer
    // runs at exit. Absent driver: nothing to pin.
    (void)dlopen("libvulkan_lvp.so", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  }
} const export_to_children;

}  // namespace

extern "C" {
// The runtimes look these weak hooks up at start-up.
const char* __asan_default_options() { return kAsan; }
const char* __lsan_default_options() { return kLsan; }
const char* __ubsan_default_options() { return kUbsan; }
}
