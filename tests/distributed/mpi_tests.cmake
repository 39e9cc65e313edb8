# kiln_mpi_tests: data-parallel training over MPI (tests/distributed/), run by mpirun on loopback
# with 2 ranks and with 3 (--oversubscribe: more ranks than cores), plus the fault drills.
# Label `mpi`; without mpirun each test reports itself skipped. Included by tests/CMakeLists.txt
# when kiln_distributed is built (KILN_MPI).
file(GLOB KILN_MPI_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
add_executable(kiln_mpi_tests ${KILN_MPI_TEST_SOURCES} ${CMAKE_CURRENT_SOURCE_DIR}/support/common.cpp
               ${CMAKE_CURRENT_SOURCE_DIR}/support/process.cpp)
target_include_directories(kiln_mpi_tests PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(kiln_mpi_tests PRIVATE kiln_all kiln_distributed GTest::gtest PkgConfig::STB)
target_compile_options(kiln_mpi_tests PRIVATE -O1)
target_compile_definitions(kiln_mpi_tests PRIVATE KILN_TEST_FIXTURES="${CMAKE_CURRENT_SOURCE_DIR}/fixtures"
                           KILN_CLI_PATH="$<TARGET_FILE:kiln_cli>")

find_program(KILN_MPIRUN NAMES mpirun mpiexec)
# CI runs as root, which Open MPI refuses unless told twice; one thread per rank keeps 3 ranks on 2 cores quick.
set(kiln_mpi_env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1)
set(kiln_mpi_tests "")
if(KILN_MPIRUN)
  foreach(ranks 2 3)
    add_test(NAME mpi_data_parallel_np${ranks}
             COMMAND ${KILN_MPIRUN} -np ${ranks} --oversubscribe $<TARGET_FILE:kiln_mpi_tests>)
    list(APPEND kiln_mpi_tests mpi_data_parallel_np${ranks})
  endforeach()
  # A killed rank: mpirun names it; a rank that throws or stalls past the timeout: Kiln names it.
  set(drill_expect_kill "rank 1.*(exited on signal 9|Killed)")
  set(drill_expect_throw "kiln: rank 1 of 2: the drill's error on purpose")
  set(drill_expect_stall "kiln: rank 0 of 2: the gradient allreduce waited [0-9]+ s for the other ranks")
  foreach(drill kill throw stall)
    add_test(NAME mpi_fault_${drill}
             COMMAND ${CMAKE_COMMAND} -DMPIRUN=${KILN_MPIRUN} -DPROGRAM=$<TARGET_FILE:kiln_mpi_tests> -DDRILL=${drill}
                     "-DEXPECT=${drill_expect_${drill}}" -DLIMIT=30 -P ${CMAKE_CURRENT_LIST_DIR}/expect_job_ends.cmake)
    list(APPEND kiln_mpi_tests mpi_fault_${drill})
  endforeach()
  set(kiln_fashion /usr/share/datasets/fashion-mnist)
  if(EXISTS ${kiln_fashion}/train-images-idx3-ubyte.gz)
    add_test(NAME mpi_kiln_train
             COMMAND ${CMAKE_COMMAND} -DMPIRUN=${KILN_MPIRUN} -DKILN=$<TARGET_FILE:kiln_cli> -DDATA=${kiln_fashion}
                     -DWORK=${CMAKE_CURRENT_BINARY_DIR}/mpi_kiln_train -P ${CMAKE_CURRENT_LIST_DIR}/kiln_train_mpi.cmake)
    list(APPEND kiln_mpi_tests mpi_kiln_train)
    if(EXISTS /usr/bin/python3)
      add_test(NAME mpi_kill_and_resume
               COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/kill_and_resume.py ${KILN_MPIRUN}
                       $<TARGET_FILE:kiln_cli> ${kiln_fashion} ${CMAKE_CURRENT_BINARY_DIR}/mpi_kill_and_resume)
      list(APPEND kiln_mpi_tests mpi_kill_and_resume)
    endif()
  endif()
  set_tests_properties(${kiln_mpi_tests} PROPERTIES LABELS mpi TIMEOUT 120 PROCESSORS 2 ENVIRONMENT "${kiln_mpi_env}")
else()
  add_test(NAME mpi_data_parallel COMMAND ${CMAKE_COMMAND} -E echo "mpirun not found: the mpi tests are skipped")
  set_tests_properties(mpi_data_parallel PROPERTIES LABELS mpi SKIP_REGULAR_EXPRESSION "mpirun not found")
endif()
