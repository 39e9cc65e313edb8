#include "data/idx_dataset.hpp"

namespace kiln::datasets::fashion_mnist {
namespace {

const data_detail::IdxDataset& dataset() {
  static const data_detail::IdxDataset d{
      .name = "Fashion-MNIST",
      .subdir = "fashion-mnist",
      .base_url = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
      // From the Fashion-MNIST README. Debian's copies are recompressed, so their .gz MD5s
      // differ, but the decompressed files are the same; only downloads are checked.
      .md5 = {"8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
              "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"},
      // Debian's dataset-fashion-mnist package.
      .system_dirs = {"/usr/share/datasets/fashion-mnist"},
  };
  return d;
}

}  // namespace

const std::vector<std::string>& class_names() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

std::optional<std::filesystem::path> locate(const LoadOptions& options) {
  return data_detail::locate_idx(dataset(), options);
}

TrainTest load_data(const LoadOptions& options) { return data_detail::load_idx_data(dataset(), options); }

TrainTest load_from(const std::filesystem::path& dir) { return data_detail::load_idx_from(dataset(), dir); }

}  // namespace kiln::datasets::fashion_mnist
