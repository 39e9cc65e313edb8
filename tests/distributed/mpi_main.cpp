// kiln_mpi_tests' main: the GoogleTest suite on every rank (rank 0 prints), or one of the
// fault drills that tests/distributed/expect_job_ends.cmake runs and judges:
//   --drill kill     rank 1 SIGKILLs itself mid-epoch
//   --drill throw    rank 1 throws from a callback mid-epoch
//   --drill stall    rank 1 sleeps before the step's allreduce, past a 2 s timeout
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>

#include "kiln/distributed.hpp"
#include "kiln/kiln.hpp"

namespace {

class MpiDrillCallback : public kiln::Callback {
 public:
  explicit MpiDrillCallback(std::string drill) : drill_(std::move(drill)) {}
  void on_train_batch_end(kiln::Model&, std::int64_t step, const kiln::Logs&) override {
    if (kiln::distributed::rank() != 1 || step != 2) return;
    if (drill_ == "kill") raise(SIGKILL);
    if (drill_ == "throw") throw kiln::Error("the drill's error on purpose");
    if (drill_ == "stall") std::this_thread::sleep_for(std::chrono::seconds(20));
  }

 private:
  std::string drill_;
};

int run_mpi_drill(const std::string& drill) {
  using namespace kiln::layers;
  kiln::distributed::set_timeout(2);
  kiln::manual_seed(1);
  kiln::Sequential model;
  model.add(Dense(16, "relu", {8}));
  model.add(Dense(2, "softmax"));
  model.compile("sgd", "sparse_categorical_crossentropy");
  const kiln::Tensor x = kiln::Tensor::zeros({4000, 8});
  const kiln::Tensor y = kiln::Tensor::zeros({4000}, kiln::DType::Int32);
  kiln::distributed::DataParallel ddp(model);
  model.fit(x, y,
            {.epochs = 1000, .batch_size = 8, .verbose = 0, .callbacks = {std::make_shared<MpiDrillCallback>(drill)}});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  kiln::distributed::init(&argc, &argv, {.timeout_seconds = 30});
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--drill") == 0) return run_mpi_drill(argv[i + 1]);
  }
  testing::InitGoogleTest(&argc, argv);
  if (kiln::distributed::rank() != 0) {
    auto& listeners = testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int failed = RUN_ALL_TESTS();
  // Every rank's verdict: a check failing on rank 1 alone fails the job.
  std::vector<double> failures{double(failed != 0)};
  kiln::distributed::sum(failures);
  if (kiln::distributed::rank() == 0 && failures[0] > 0) {
    std::cerr << failures[0] << " rank(s) failed a test\n";
  }
  return failures[0] > 0 ? 1 : 0;
}
