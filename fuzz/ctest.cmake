# A short bounded fuzzing run as part of the test suite (label "fuzz"): 20 s per target with
# scripts/fuzz.sh, built into this build tree. Only registered when clang++ is installed
# (libFuzzer ships with it); the full run is `scripts/fuzz.sh [seconds]`.
find_program(VKATTN_FUZZ_CLANGXX NAMES clang++ clang++-14)
if(VKATTN_FUZZ_CLANGXX)
  add_test(NAME fuzz COMMAND ${CMAKE_CURRENT_LIST_DIR}/../scripts/fuzz.sh 20)
  # COST: started first under ctest -j (a fresh tree has no cost data and runs tests in
  # order), so this minute of one core overlaps the other tests instead of ending the run.
  set_tests_properties(fuzz PROPERTIES LABELS fuzz TIMEOUT 600 COST 1000
    ENVIRONMENT "VKATTN_FUZZ_BUILD=${PROJECT_BINARY_DIR}/fuzz;VKATTN_FUZZ_CXX=${VKATTN_FUZZ_CLANGXX};VKATTN_FUZZ_JOBS=1")
endif()
