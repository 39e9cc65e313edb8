// Datasets as Keras ships them, loaded into uint8 tensors (NHWC) and labels.
//
//   auto [train, test] = kiln::datasets::cifar10::load_data();
//   // train.images: uint8 [50000, 32, 32, 3], train.labels: uint8 [50000]
//
// Each dataset is looked for in, in order: the directory given in
// LoadOptions::data_dir, $KILN_DATA, ~/.cache/kiln, then system folders
// (Debian's dataset-fashion-mnist installs /usr/share/datasets/fashion-mnist).
// When it is nowhere and download is allowed, it is fetched from its official
// address into the first writable of data_dir, $KILN_DATA and ~/.cache/kiln,
// and its published MD5 checked before it is kept.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kiln/error.hpp"
#include "kiln/tensor.hpp"

namespace kiln::datasets {

// Thrown when a dataset is neither on disk nor downloadable. what() is the full
// message (what failed, where Kiln looked, where to put the files); problem()
// is just what failed, for a one-line notice.
class DatasetUnavailable : public Error {
 public:
  DatasetUnavailable(const std::string& message, std::string problem)
      : Error(message), problem_(std::move(problem)) {}
  const std::string& problem() const { return problem_; }

 private:
  std::string problem_;
};

struct Split {
  Tensor images;  // uint8 [n, height, width, channels]
  Tensor labels;  // uint8 [n]
};

struct TrainTest {
  Split train, test;
};

struct LoadOptions {
  std::optional<std::filesystem::path> data_dir;
  bool download = true;
  // Seconds to wait for a connection before giving up on a download.
  long connect_timeout = 15;
};

// The folders searched, in order, for LoadOptions (without dataset-specific system folders):
// data_dir, $KILN_DATA, $HOME/.cache/kiln — each only when set.
std::vector<std::filesystem::path> search_dirs(const LoadOptions& options);

namespace cifar10 {
// The official binary release.
inline constexpr const char* kUrl = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
inline constexpr const char* kMd5 = "c32a1d4ab5d03f1284b67883e8d87530";
// "airplane", "automobile", ..., "truck": the names of labels 0..9.
const std::vector<std::string>& class_names();
// A `cifar-10-batches-bin` folder or `cifar-10-binary.tar.gz` in the search folders, if any.
std::optional<std::filesystem::path> locate(const LoadOptions& options = {});
// Finds (or downloads) and loads the 50,000 training and 10,000 test images.
TrainTest load_data(const LoadOptions& options = {});
// Loads from a `cifar-10-batches-bin` folder (data_batch_1..5.bin, test_batch.bin),
// a folder holding one, or the tarball itself (read in memory, not extracted).
TrainTest load_from(const std::filesystem::path& path);
}  // namespace cifar10

// Fashion-MNIST and MNIST come as four IDX files each:
//   train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte
// plain or gzipped (.gz). Images load as uint8 [n, 28, 28, 1]. The files are looked for in
// each search folder's `fashion-mnist/` (resp. `mnist/`) subfolder, then in the folder itself.
namespace fashion_mnist {
// "T-shirt/top", "Trouser", ..., "Ankle boot": the names of labels 0..9.
const std::vector<std::string>& class_names();
// The folder holding all four IDX files, if any (including Debian's system folder).
std::optional<std::filesystem::path> locate(const LoadOptions& options = {});
// Finds (or downloads) and loads the 60,000 training and 10,000 test images.
TrainTest load_data(const LoadOptions& options = {});
// A folder holding the four IDX files (train-images-idx3-ubyte[.gz], ...).
TrainTest load_from(const std::filesystem::path& dir);
}  // namespace fashion_mnist

namespace mnist {
// "0", "1", ..., "9".
const std::vector<std::string>& class_names();
std::optional<std::filesystem::path> locate(const LoadOptions& options = {});
TrainTest load_data(const LoadOptions& options = {});
TrainTest load_from(const std::filesystem::path& dir);
}  // namespace mnist

// Reads an IDX file (plain or gzip): uint8 data as a uint8 tensor of the stored shape.
// Throws kiln::Error naming the file when it is missing, not IDX, not uint8 or truncated.
Tensor read_idx(const std::filesystem::path& file);

}  // namespace kiln::datasets
