# Every public header compiles on its own: one generated translation unit per header (each
# includes it twice, to test the include guard), built as an object library whenever the
# tests are. vkattn.h is compiled as C99 and as C++.
function(vkattn_add_header_check target)
  file(GLOB headers RELATIVE "${PROJECT_SOURCE_DIR}/include"
       CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/include/vkattn/*.h*")
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/${target}")
  set(sources "")
  foreach(header IN LISTS headers)
    string(MAKE_C_IDENTIFIER "${header}" id)
    set(exts cpp)
    if(header MATCHES "\\.h$")
      list(APPEND exts c)
    endif()
    foreach(ext IN LISTS exts)
      file(CONFIGURE OUTPUT "${dir}/${id}.${ext}"
           CONTENT "#include \"${header}\"\n#include \"${header}\"\n")
      list(APPEND sources "${dir}/${id}.${ext}")
    endforeach()
  endforeach()
  add_library(${target} OBJECT ${sources})
  target_include_directories(${target} PRIVATE "${PROJECT_SOURCE_DIR}/include")
  set_target_properties(${target} PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON
                                             C_EXTENSIONS OFF)
  vkattn_set_warnings(${target})
endfunction()
