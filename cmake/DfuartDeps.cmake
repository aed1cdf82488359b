# Host dependencies, all from Debian packages (scripts/install-deps.sh).
# Found once here so every component and test sees the same imported targets.
if(CMAKE_CROSSCOMPILING)
  return()
endif()
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
pkg_check_modules(CJSON REQUIRED IMPORTED_TARGET libcjson)
pkg_check_modules(PROTOBUFC REQUIRED IMPORTED_TARGET libprotobuf-c)
pkg_check_modules(LIBCRYPTO REQUIRED IMPORTED_TARGET libcrypto)
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
pkg_check_modules(LIBSERIALPORT REQUIRED IMPORTED_TARGET libserialport)
pkg_check_modules(CMOCKA IMPORTED_TARGET cmocka)
find_program(PROTOC_C protoc-c REQUIRED)
