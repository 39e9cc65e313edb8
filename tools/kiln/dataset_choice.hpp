// Which dataset a command uses, shared by `kiln train` and `kiln evaluate`.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "kiln/datasets.hpp"

namespace kiln::cli {

struct DatasetChoice {
  std::string dataset = "auto";  // auto, cifar10, fashion-mnist, mnist
  std::string data_dir;
  bool no_download = false;
  bool quiet = false;  // no line about falling back from CIFAR-10 to Fashion-MNIST
};

struct LoadedDataset {
  std::string key;   // "cifar10", "fashion-mnist", "mnist": what "auto" resolved to
  std::string name;  // "CIFAR-10", "Fashion-MNIST", "MNIST"
  kiln::datasets::TrainTest data;
};

// "auto": CIFAR-10 when it is present or can be downloaded, else Fashion-MNIST (saying so in one line).
LoadedDataset load_dataset(const DatasetChoice& choice);
const std::vector<std::string>& class_names_of(const std::string& key);
// The first n samples of a split (n <= 0: all).
kiln::datasets::Split head(const kiln::datasets::Split& split, std::int64_t n);
// A file named as an image (.bmp, .gif, .jpeg, .jpg, .png, any case).
bool is_image_file(const std::filesystem::path& file);
// A folder with at least one sub-folder holding images: what image_dataset_from_directory reads.
bool is_image_folder(const std::filesystem::path& dir);

}  // namespace kiln::cli
