# `mpirun -np 2 kiln train` on 96 Fashion-MNIST images: the first line reports the world and the
# local batch, rank 0 alone prints the result and writes the run folder, and the test accuracy is
# the one process's run on the same global batches gives.
# cmake -DMPIRUN=... -DKILN=... -DDATA=... -DWORK=... -P kiln_train_mpi.cmake
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/home)
set(args train --dataset fashion-mnist --no-download --data ${DATA} --train-samples 96 --test-samples 48 --epochs 2
         --batch-size 32 --threads 1 --verbose 2 --seed 4)
execute_process(COMMAND ${CMAKE_COMMAND} -E env HOME=${WORK}/home ${MPIRUN} -np 2 --oversubscribe ${KILN} ${args}
                        --out ${WORK}/two
                RESULT_VARIABLE rc OUTPUT_VARIABLE two ERROR_VARIABLE err TIMEOUT 120)
if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "mpirun kiln train failed (${rc}):\n${two}\n${err}")
endif()
if(NOT two MATCHES "^Data-parallel: 2 ranks \\(MPI\\), global batch 32, local batch 16, 1 thread per rank\n")
  message(FATAL_ERROR "the first line should report the world and the local batch:\n${two}")
endif()
string(REGEX MATCHALL "Test accuracy: [0-9.]+" accuracy_lines "${two}")
list(LENGTH accuracy_lines printed)
if(NOT printed EQUAL 1)
  message(FATAL_ERROR "rank 0 alone should print the test accuracy; it was printed ${printed} times:\n${two}")
endif()
foreach(f config.json checkpoint.safetensors best.safetensors history.csv model.safetensors report.html)
  if(NOT EXISTS ${WORK}/two/${f})
    message(FATAL_ERROR "the run folder has no ${f}")
  endif()
endforeach()
file(STRINGS ${WORK}/two/history.csv rows)
list(LENGTH rows row_count)
if(NOT row_count EQUAL 3)
  message(FATAL_ERROR "history.csv should hold a header and 2 epochs, not ${row_count} lines")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env HOME=${WORK}/home ${KILN} ${args} --out ${WORK}/one
                RESULT_VARIABLE rc OUTPUT_VARIABLE one ERROR_VARIABLE err TIMEOUT 120)
string(REGEX MATCH "Test accuracy: [0-9.]+" one_accuracy "${one}")
if(NOT one_accuracy STREQUAL accuracy_lines)
  message(FATAL_ERROR "2 ranks: '${accuracy_lines}', 1 process on the same batches: '${one_accuracy}'")
endif()
file(REMOVE_RECURSE ${WORK})
message(STATUS "mpirun -np 2 kiln train: ${accuracy_lines}, as one process")
