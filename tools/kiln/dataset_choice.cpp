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

kiln::datasets::Split head(const kiln::datasets::Split& split, std::int64_t n) {
  if (n <= 0 || n >= split.images.size(0)) return split;
  return {split.images.slice(0, n), split.labels.slice(0, n)};
}

}  // namespace kiln::cli
