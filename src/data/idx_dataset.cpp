#include "data/idx_dataset.hpp"

#include <cstdint>

#include "data/download.hpp"
#include "data/fetch.hpp"
#include "kiln/error.hpp"

namespace kiln::data_detail {
namespace fs = std::filesystem;
using datasets::LoadOptions;
using datasets::Split;
using datasets::TrainTest;

const std::array<const char*, 4> kIdxFiles = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                              "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

namespace {

constexpr std::int64_t kSide = 28;
constexpr int kClasses = 10;

// The plain file when both exist: it reads faster.
std::optional<fs::path> find_file(const fs::path& dir, const std::string& name) {
  std::error_code ec;
  for (const fs::path& p : {dir / name, dir / (name + ".gz")}) {
    if (fs::is_regular_file(p, ec)) return p;
  }
  return std::nullopt;
}

bool has_all_files(const fs::path& dir) {
  for (const char* name : kIdxFiles) {
    if (!find_file(dir, name)) return false;
  }
  return true;
}

std::vector<fs::path> candidate_dirs(const IdxDataset& dataset, const LoadOptions& options) {
  std::vector<fs::path> dirs;
  for (const auto& dir : datasets::search_dirs(options)) {
    dirs.push_back(dir / dataset.subdir);
    dirs.push_back(dir);
  }
  for (const auto& dir : dataset.system_dirs) dirs.push_back(dir);
  return dirs;
}

Split load_split(const IdxDataset& dataset, const fs::path& dir, const char* images_name, const char* labels_name) {
  fs::path files[2];
  const char* names[2] = {images_name, labels_name};
  for (int i = 0; i < 2; ++i) {
    auto found = find_file(dir, names[i]);
    if (!found) {
      throw Error((dir / names[i]).string() + "[.gz]: no such file (" + dataset.name +
                  " needs train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
                  "t10k-labels-idx1-ubyte in one folder, each plain or .gz)");
    }
    files[i] = *found;
  }
  Tensor images = datasets::read_idx(files[0]);
  Tensor labels = datasets::read_idx(files[1]);
  if (images.ndim() != 3 || images.size(1) != kSide || images.size(2) != kSide) {
    throw Error(files[0].string() + ": expected " + dataset.name + " images of shape [n, 28, 28], got " +
                shape_str(images.shape()));
  }
  if (labels.ndim() != 1) {
    throw Error(files[1].string() + ": expected labels of shape [n], got " + shape_str(labels.shape()));
  }
  if (images.size(0) != labels.size(0)) {
    throw Error(dataset.name + ": " + files[0].string() + " holds " + std::to_string(images.size(0)) + " images but " +
                files[1].string() + " holds " + std::to_string(labels.size(0)) + " labels");
  }
  const std::uint8_t* y = labels.data<std::uint8_t>();
  for (std::int64_t i = 0; i < labels.numel(); ++i) {
    if (y[i] >= kClasses) {
      throw Error(files[1].string() + ": label " + std::to_string(y[i]) + " at index " + std::to_string(i) +
                  " is outside 0..9");
    }
  }
  return {images.reshape({images.size(0), kSide, kSide, 1}), labels};
}

}  // namespace

std::optional<fs::path> locate_idx(const IdxDataset& dataset, const LoadOptions& options) {
  for (const auto& dir : candidate_dirs(dataset, options)) {
    if (has_all_files(dir)) return dir;
  }
  return std::nullopt;
}

TrainTest load_idx_from(const IdxDataset& dataset, const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec))
    throw Error(dir.string() + ": no such folder (expected the " + dataset.name + " IDX files)");
  if (!fs::is_directory(dir, ec)) {
    throw Error(dir.string() + ": not a folder; " + dataset.name + " loads from the folder holding its four IDX files");
  }
  return {load_split(dataset, dir, kIdxFiles[0], kIdxFiles[1]), load_split(dataset, dir, kIdxFiles[2], kIdxFiles[3])};
}

TrainTest load_idx_data(const IdxDataset& dataset, const LoadOptions& options) {
  if (auto dir = locate_idx(dataset, options)) return load_idx_from(dataset, *dir);

  auto searched = datasets::search_dirs(options);
  searched.insert(searched.end(), dataset.system_dirs.begin(), dataset.system_dirs.end());
  std::string what = "the four files";
  for (std::size_t i = 0; i < kIdxFiles.size(); ++i) what += std::string(i == 0 ? " " : ", ") + kIdxFiles[i] + ".gz";
  what += " (from " + dataset.base_url + ")";
  const std::string place = "one of those folders or its " + dataset.subdir + "/ subfolder";
  if (!options.download) throw_not_available(dataset.name, "not found, and downloading is off", searched, what, place);

  fs::path target;
  try {
    target = download_dir(options) / dataset.subdir;
    for (std::size_t i = 0; i < kIdxFiles.size(); ++i) {
      if (find_file(target, kIdxFiles[i])) continue;  // kept from an earlier, partial download
      const std::string gz = std::string(kIdxFiles[i]) + ".gz";
      download_file(dataset.base_url + gz, target / gz, dataset.md5[i], options.connect_timeout);
    }
  } catch (const Error& e) {
    throw_not_available(dataset.name, std::string("not found, and the download failed: ") + e.what(), searched, what,
                        place);
  }
  return load_idx_from(dataset, target);
}

}  // namespace kiln::data_detail
