#include "data/idx_dataset.hpp"

namespace kiln::datasets::mnist {
namespace {

const data_detail::IdxDataset& dataset() {
  static const data_detail::IdxDataset d{
      .name = "MNIST",
      .subdir = "mnist",
      // yann.lecun.com has been refusing downloads (HTTP 403); PyTorch's mirror serves the same files.
      .base_url = "https://ossci-datasets.s3.amazonaws.com/mnist/",
      .md5 = {"f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
              "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"},
      .system_dirs = {},
  };
  return d;
}

}  // namespace

const std::vector<std::string>& class_names() {
  static const std::vector<std::string> names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  return names;
}

std::optional<std::filesystem::path> locate(const LoadOptions& options) {
  return data_detail::locate_idx(dataset(), options);
}

TrainTest load_data(const LoadOptions& options) { return data_detail::load_idx_data(dataset(), options); }

TrainTest load_from(const std::filesystem::path& dir) { return data_detail::load_idx_from(dataset(), dir); }

}  // namespace kiln::datasets::mnist
