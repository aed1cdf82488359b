# Toolchain file: bare-metal Arm Cortex-M4F (nRF52832/nRF52840) with the Debian
# gcc-arm-none-eabi + libnewlib-arm-none-eabi packages.
#
#   cmake -S . -B build-arm -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake \
#         -DCMAKE_BUILD_TYPE=MinSizeRel
#
# Sets CMAKE_CROSSCOMPILING, so the top-level CMakeLists.txt builds only the
# device side (proto, device_fw, device_fw/port/nrf52) and skips every host
# dependency. Override the compiler prefix with -DARM_NONE_EABI_PREFIX=... (e.g.
# an Arm GNU Toolchain tarball: /opt/arm-gnu/bin/arm-none-eabi-).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(ARM_NONE_EABI_PREFIX "arm-none-eabi-" CACHE STRING "Path/prefix of the arm-none-eabi tools")

set(CMAKE_C_COMPILER ${ARM_NONE_EABI_PREFIX}gcc)
set(CMAKE_ASM_COMPILER ${ARM_NONE_EABI_PREFIX}gcc)
set(CMAKE_OBJCOPY ${ARM_NONE_EABI_PREFIX}objcopy CACHE FILEPATH "objcopy for .hex/.bin")
set(CMAKE_SIZE ${ARM_NONE_EABI_PREFIX}size CACHE FILEPATH "size for the budget report")

# There is no OS to run a test executable, so CMake's compiler checks link a
# static library instead of an executable.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# Cortex-M4 with the single-precision FPU, hard-float ABI (what the nRF5 SDK
# uses; the startup code enables CP10/CP11). Every function and object gets its
# own section so --gc-sections can drop what the firmware does not call: the
# budget figures depend on it.
set(DFUART_ARM_CPU_FLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
set(CMAKE_C_FLAGS_INIT
    "${DFUART_ARM_CPU_FLAGS} -ffunction-sections -fdata-sections --specs=nano.specs")
set(CMAKE_ASM_FLAGS_INIT "${DFUART_ARM_CPU_FLAGS}")
# newlib-nano (--specs=nano.specs above: CMake passes the C flags to the link
# step too, and giving the spec twice is an error) for memcpy/memset; nosys
# stubs so nothing needs an OS. No heap is used: a call to malloc would show
# up in the size report and the map file.
set(CMAKE_EXE_LINKER_FLAGS_INIT "--specs=nosys.specs -Wl,--gc-sections")

# Look for programs on the build machine, for headers and libraries only in
# the toolchain's sysroot.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
