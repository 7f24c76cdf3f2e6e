# Toolchain file: bare-metal Arm Cortex-M with the GNU Arm Embedded toolchain (newlib).
#
#   cmake -S . -B build-arm -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake -DTINYTVM_CPU=cortex-m7
#
# TINYTVM_CPU: cortex-m7 (default; FPv5 double-precision FPU, DSP), cortex-m4 (FPv4-SP, DSP),
# cortex-m33 (FPv5-SP, DSP), cortex-m3 / cortex-m0plus (no FPU, no DSP: portable C paths).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(TINYTVM_CPU "cortex-m7" CACHE STRING "Target Cortex-M CPU (cortex-m7, cortex-m4, cortex-m33, cortex-m3, cortex-m0plus)")
set_property(CACHE TINYTVM_CPU PROPERTY STRINGS cortex-m7 cortex-m4 cortex-m33 cortex-m3 cortex-m0plus)

set(TINYTVM_TOOLCHAIN_PREFIX "arm-none-eabi-" CACHE STRING "Cross toolchain prefix")
set(CMAKE_C_COMPILER "${TINYTVM_TOOLCHAIN_PREFIX}gcc")
set(CMAKE_CXX_COMPILER "${TINYTVM_TOOLCHAIN_PREFIX}g++")
set(CMAKE_ASM_COMPILER "${TINYTVM_TOOLCHAIN_PREFIX}gcc")
set(CMAKE_OBJCOPY "${TINYTVM_TOOLCHAIN_PREFIX}objcopy" CACHE FILEPATH "objcopy")
set(CMAKE_SIZE "${TINYTVM_TOOLCHAIN_PREFIX}size" CACHE FILEPATH "size")

# Compiler checks link a test program; a bare-metal link needs startup code we do not have yet.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

if(TINYTVM_CPU STREQUAL "cortex-m7")
  set(_tt_cpu_flags "-mcpu=cortex-m7 -mfpu=fpv5-d16 -mfloat-abi=hard")
elseif(TINYTVM_CPU STREQUAL "cortex-m4")
  set(_tt_cpu_flags "-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard")
elseif(TINYTVM_CPU STREQUAL "cortex-m33")
  set(_tt_cpu_flags "-mcpu=cortex-m33 -mfpu=fpv5-sp-d16 -mfloat-abi=hard")
elseif(TINYTVM_CPU STREQUAL "cortex-m3" OR TINYTVM_CPU STREQUAL "cortex-m0plus")
  set(_tt_cpu_flags "-mcpu=${TINYTVM_CPU} -mfloat-abi=soft")
else()
  message(FATAL_ERROR "Unsupported TINYTVM_CPU '${TINYTVM_CPU}'")
endif()

set(CMAKE_C_FLAGS_INIT "-mthumb ${_tt_cpu_flags} -ffunction-sections -fdata-sections")
set(CMAKE_CXX_FLAGS_INIT "${CMAKE_C_FLAGS_INIT}")
set(CMAKE_ASM_FLAGS_INIT "${CMAKE_C_FLAGS_INIT}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-mthumb ${_tt_cpu_flags} -Wl,--gc-sections --specs=nano.specs --specs=nosys.specs")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
