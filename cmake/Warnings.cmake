# One place for warning flags; every project target calls vkattn_set_warnings().
option(VKATTN_WERROR "Treat warnings as errors" OFF)
function(vkattn_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                           -Wno-sign-conversion)
  if(VKATTN_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
