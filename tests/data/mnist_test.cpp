#include <gtest/gtest.h>

#include "data/data_test_util.hpp"
#include "kiln/datasets.hpp"

namespace kiln::test {
namespace {

namespace mnist = datasets::mnist;

void write_tiny_mnist(const std::filesystem::path& dir) {
  write_gzip(dir / "train-images-idx3-ubyte.gz", idx_bytes({2, 28, 28}, Bytes(2 * 784, 7)));
  write_gzip(dir / "train-labels-idx1-ubyte.gz", idx_bytes({2}, {3, 8}));
  write_gzip(dir / "t10k-images-idx3-ubyte.gz", idx_bytes({1, 28, 28}, Bytes(784, 9)));
  write_gzip(dir / "t10k-labels-idx1-ubyte.gz", idx_bytes({1}, {5}));
}

TEST(MnistTest, LocatesItsOwnSubfolder) {
  IsolatedEnv env;
  TempDir dir;
  write_tiny_mnist(dir / "mnist");
  datasets::LoadOptions options{.data_dir = dir.path(), .download = false};
  EXPECT_EQ(mnist::locate(options), dir / "mnist");
  auto data = mnist::load_data(options);
  EXPECT_EQ(data.train.images.shape(), (Shape{2, 28, 28, 1}));
  EXPECT_EQ(data.train.labels.to_vector<std::uint8_t>(), (Bytes{3, 8}));
  EXPECT_EQ(data.test.images.shape(), (Shape{1, 28, 28, 1}));
  EXPECT_EQ(mnist::class_names().size(), 10u);
}

TEST(MnistTest, NotFoundWithoutDownloadSaysWhereToPutIt) {
  IsolatedEnv env;
  TempDir dir;
  // A partial set is not a dataset.
  write_gzip(dir / "mnist" / "train-images-idx3-ubyte.gz", idx_bytes({2, 28, 28}, Bytes(2 * 784)));
  datasets::LoadOptions options{.data_dir = dir.path(), .download = false};
  EXPECT_FALSE(mnist::locate(options));
  expect_mentions(error_of([&] { mnist::load_data(options); }),
                  {"MNIST: not found, and downloading is off", dir.path().string(), env.kiln_data().string(),
                   "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "ossci-datasets", "its mnist/ subfolder",
                   "--data DIR", "$KILN_DATA"});
}

}  // namespace
}  // namespace kiln::test
