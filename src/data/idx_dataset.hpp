// MNIST and Fashion-MNIST share one layout: four IDX files (plain or .gz) of 28x28
// uint8 images and labels 0..9. This loads any dataset of that layout.
// Internal to the dataset loaders.
#pragma once
#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kiln/datasets.hpp"

namespace kiln::data_detail {

struct IdxDataset {
  std::string name;      // for messages: "Fashion-MNIST"
  std::string subdir;    // looked for inside each search folder: "fashion-mnist"
  std::string base_url;  // the four .gz files are downloaded from base_url + file name
  // Published MD5s of train-images, train-labels, t10k-images, t10k-labels (.gz).
  std::array<std::string, 4> md5;
  // Searched after the search folders, never downloaded into.
  std::vector<std::filesystem::path> system_dirs;
};

// train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte
extern const std::array<const char*, 4> kIdxFiles;

std::optional<std::filesystem::path> locate_idx(const IdxDataset& dataset, const datasets::LoadOptions& options);
datasets::TrainTest load_idx_from(const IdxDataset& dataset, const std::filesystem::path& dir);
datasets::TrainTest load_idx_data(const IdxDataset& dataset, const datasets::LoadOptions& options);

}  // namespace kiln::data_detail
