# Bare-metal Cortex-M executables on the tinytvm platform layer (src_cpp/platform): startup code,
# semihosting, SysTick instruction counter and a C-preprocessed linker script.
#
#   tinytvm_add_baremetal_executable(<target> SOURCES <src>...
#       [FLASH_ORIGIN 0x0] [FLASH_SIZE 4M] [RAM_ORIGIN 0x20000000] [RAM_SIZE 4M]
#       [STACK_SIZE 0x4000])
#
# Defaults describe QEMU's mps2-an500 (Cortex-M7).  Pass a board's real limits (e.g. STM32F746:
# FLASH_ORIGIN 0x08000000 FLASH_SIZE 1M RAM_ORIGIN 0x20000000 RAM_SIZE 320K) so that a model that
# does not fit fails at link time.  Produces <target>.elf, a map file and <target>.elf.bin.
set(TINYTVM_PLATFORM_DIR "${CMAKE_CURRENT_LIST_DIR}/../src_cpp/platform")
get_filename_component(TINYTVM_PLATFORM_DIR "${TINYTVM_PLATFORM_DIR}" ABSOLUTE)

if(NOT TARGET tinytvm_platform)
  add_library(tinytvm_platform OBJECT
    "${TINYTVM_PLATFORM_DIR}/startup.c"
    "${TINYTVM_PLATFORM_DIR}/semihost.c"
    "${TINYTVM_PLATFORM_DIR}/cycle_counter.c")
  target_include_directories(tinytvm_platform PUBLIC "${TINYTVM_PLATFORM_DIR}")
  set_target_properties(tinytvm_platform PROPERTIES C_STANDARD 99 C_EXTENSIONS OFF)
  target_compile_options(tinytvm_platform PRIVATE -Wall -Wextra -Werror)
endif()

function(tinytvm_add_baremetal_executable target)
  cmake_parse_arguments(A "" "FLASH_ORIGIN;FLASH_SIZE;RAM_ORIGIN;RAM_SIZE;STACK_SIZE" "SOURCES" ${ARGN})
  foreach(pair "FLASH_ORIGIN;0x00000000" "FLASH_SIZE;4M" "RAM_ORIGIN;0x20000000" "RAM_SIZE;4M" "STACK_SIZE;0x8000")
    list(GET pair 0 key)
    list(GET pair 1 default)
    if(NOT A_${key})
      set(A_${key} ${default})
    endif()
  endforeach()

  set(ld "${CMAKE_CURRENT_BINARY_DIR}/${target}.ld")
  add_custom_command(
    OUTPUT "${ld}"
    COMMAND ${CMAKE_C_COMPILER} -E -P -x c
            -DTT_FLASH_ORIGIN=${A_FLASH_ORIGIN} -DTT_FLASH_SIZE=${A_FLASH_SIZE}
            -DTT_RAM_ORIGIN=${A_RAM_ORIGIN} -DTT_RAM_SIZE=${A_RAM_SIZE}
            -DTT_STACK_SIZE=${A_STACK_SIZE}
            "${TINYTVM_PLATFORM_DIR}/cortexm.ld.in" -o "${ld}"
    DEPENDS "${TINYTVM_PLATFORM_DIR}/cortexm.ld.in"
    COMMENT "Linker script for ${target}"
    VERBATIM)
  add_custom_target(${target}_ld DEPENDS "${ld}")

  add_executable(${target} ${A_SOURCES})
  set_target_properties(${target} PROPERTIES SUFFIX ".elf" LINK_DEPENDS "${ld}")
  add_dependencies(${target} ${target}_ld)
  # An OBJECT library links its objects directly: the vector table cannot be dropped.
  target_link_libraries(${target} PRIVATE tinytvm_platform)
  # -nostartfiles: startup.c replaces newlib's crt0 (vector table, FPU, .data/.bss init).
  target_link_options(${target} PRIVATE -nostartfiles "-T${ld}" "-Wl,-Map=$<TARGET_FILE:${target}>.map"
                      -Wl,--print-memory-usage)
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_OBJCOPY} -O binary "$<TARGET_FILE:${target}>" "$<TARGET_FILE:${target}>.bin"
    VERBATIM)
endfunction()
