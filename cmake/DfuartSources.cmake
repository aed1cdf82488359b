# dfuart_library_sources(SOURCES_VAR INCLUDES_VAR lib...)
#
# Every source file (absolute path) and the include directories of the given
# library targets, so that an executable can compile its own copy of them
# with other flags than the libraries were built with: the power-cut sweep
# (no sanitizers, -O2) and the bench's window variants (-DDFW_RX_BUFFERS=N).
function(dfuart_library_sources sources_var includes_var)
  set(sources)
  set(includes)
  foreach(lib ${ARGN})
    get_target_property(srcs ${lib} SOURCES)
    get_target_property(dir ${lib} SOURCE_DIR)
    foreach(src ${srcs})
      if(NOT IS_ABSOLUTE ${src})
        set(src ${dir}/${src})
      endif()
      list(APPEND sources ${src})
    endforeach()
    list(APPEND includes $<TARGET_PROPERTY:${lib},INCLUDE_DIRECTORIES>)
  endforeach()
  set(${sources_var} ${sources} PARENT_SCOPE)
  set(${includes_var} ${includes} PARENT_SCOPE)
endfunction()
