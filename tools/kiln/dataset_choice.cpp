#include "dataset_choice.hpp"

#include <iostream>

#include "kiln/error.hpp"

namespace kiln::cli {

LoadedDataset load_dataset(const DatasetChoice& c) {
  namespace ds = kiln::datasets;
  ds::LoadOptions o;
  if (!c.data_dir.empty()) o.data_dir = c.data_dir;
  o.download = !c.no_download;
  if (c.dataset == "cifar10") return {"cifar10", "CIFAR-10", ds::cifar10::load_data(o)};
  if (c.dataset == "fashion-mnist") return {"fashion-mnist", "Fashion-MNIST", ds::fashion_mnist::load_data(o)};
  if (c.dataset == "mnist") return {"mnist", "MNIST", ds::mnist::load_data(o)};
  if (c.dataset == "folder" || c.dataset == "csv") {
    throw Error(std::string("this run trained on ") + (c.dataset == "csv" ? "a CSV file" : "an image folder") +
                "; its report and metrics.json are in the run folder (kiln evaluate scores models on the built-in "
                "datasets: give --dataset cifar10, fashion-mnist or mnist)");
  }
  if (c.dataset != "auto") throw Error("unknown dataset \"" + c.dataset + "\"");
  try {
    return {"cifar10", "CIFAR-10", ds::cifar10::load_data(o)};
  } catch (const ds::DatasetUnavailable& e) {
    if (!c.quiet) {
      std::cout << "CIFAR-10 is not available (" << e.problem()
                << "); training the same layers on Fashion-MNIST (28x28x1) instead.\n";
    }
    return {"fashion-mnist", "Fashion-MNIST", ds::fashion_mnist::load_data(o)};
  }
}

const std::vector<std::string>& class_names_of(const std::string& key) {
  if (key == "cifar10") return kiln::datasets::cifar10::class_names();
  if (key == "mnist") return kiln::datasets::mnist::class_names();
  return kiln::datasets::fashion_mnist::class_names();
}

bool is_image_file(const std::filesystem::path& file) {
  std::string ext = file.extension().string();
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext == ".bmp" || ext == ".gif" || ext == ".jpeg" || ext == ".jpg" || ext == ".png";
}

bool is_image_folder(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& sub : fs::directory_iterator(dir, ec)) {
    if (!sub.is_directory(ec)) continue;
    for (fs::recursive_directory_iterator it(sub.path(), ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file(ec) && is_image_file(it->path())) return true;
    }
  }
  return false;
}

kiln::datasets::Split head(const kiln::datasets::Split& split, std::int64_t n) {
  if (n <= 0 || n >= split.images.size(0)) return split;
  return {split.images.slice(0, n), split.labels.slice(0, n)};
}

}  // namespace kiln::cli
