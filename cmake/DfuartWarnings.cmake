# Warning and sanitizer policy shared by every dfuart target.
add_library(dfuart_warnings INTERFACE)
target_compile_options(dfuart_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
  -Wformat=2 -Wvla)
if(DFUART_WERROR)
  target_compile_options(dfuart_warnings INTERFACE -Werror)
endif()

# The pure cores (proto, device_fw) must also be warning-free under the
# stricter set, because they run on Cortex-M4 where int is 32 bits and
# implicit narrowing hides real bugs.
add_library(dfuart_strict INTERFACE)
target_compile_options(dfuart_strict INTERFACE -Wconversion -Wcast-qual -Wundef)

if(DFUART_SANITIZE)
  # No recovery: the first UB report must fail the test that triggered it.
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
