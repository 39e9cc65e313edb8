// What the MPI parts of kiln_distributed share: the communicator and bounded waits.
#pragma once
#include <mpi.h>

#include <vector>

namespace kiln::distributed::detail {

// Kiln's own duplicate of MPI_COMM_WORLD, so its collectives never match a program's own.
MPI_Comm comm();
// Waits for every request, driving MPI's progress; past the timeout, ends the job with a
// message naming this rank and `what`.
void wait_all(std::vector<MPI_Request>& requests, const char* what);
// Lets outstanding non-blocking collectives advance (Open MPI progresses them inside MPI calls).
void poke(std::vector<MPI_Request>& requests);

}  // namespace kiln::distributed::detail
