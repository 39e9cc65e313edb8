# Runs a fault drill of kiln_mpi_tests under mpirun and checks that the whole job ends, with a
# failure, within LIMIT seconds, and that its output matches EXPECT (a regex naming the rank).
# cmake -DMPIRUN=... -DPROGRAM=... -DDRILL=kill -DEXPECT=... -DLIMIT=30 -P expect_job_ends.cmake
string(TIMESTAMP start "%s")
execute_process(COMMAND ${MPIRUN} -np 2 --oversubscribe ${PROGRAM} --drill ${DRILL}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT ${LIMIT})
string(TIMESTAMP end "%s")
math(EXPR took "${end} - ${start}")
set(all "${out}${err}")
if(rc STREQUAL "0")
  message(FATAL_ERROR "drill ${DRILL}: the job succeeded; it should have failed\n${all}")
endif()
if(rc MATCHES "timeout" OR took GREATER_EQUAL ${LIMIT})
  message(FATAL_ERROR "drill ${DRILL}: the job was still running after ${LIMIT} s (a rank hung)\n${all}")
endif()
if(NOT all MATCHES "${EXPECT}")
  message(FATAL_ERROR "drill ${DRILL}: no line matching '${EXPECT}' in the output\n${all}")
endif()
message(STATUS "drill ${DRILL}: the job ended in ${took} s (exit ${rc}) with the expected message")
