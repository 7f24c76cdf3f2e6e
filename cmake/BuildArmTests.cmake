# cmake -P script: configure + build the bare-metal test ELFs in a separate cross build tree.
#   -DSOURCE_DIR=<project root> -DBINARY_DIR=<build dir> -DCPU=cortex-m7 [-DNO_DSP=ON]
if(NOT DEFINED NO_DSP)
  set(NO_DSP OFF)
endif()
foreach(v SOURCE_DIR BINARY_DIR CPU)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "BuildArmTests.cmake: ${v} not set")
  endif()
endforeach()
execute_process(
  COMMAND ${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${BINARY_DIR}"
          "-DCMAKE_TOOLCHAIN_FILE=${SOURCE_DIR}/cmake/arm-none-eabi.cmake"
          -DTINYTVM_CPU=${CPU} -DTINYTVM_ARM_TESTS=ON -DCMAKE_BUILD_TYPE=Release
          -DTINYTVM_NO_DSP=${NO_DSP}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the Arm test build failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${BINARY_DIR}" --parallel 2 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the Arm tests failed (${rc})")
endif()
