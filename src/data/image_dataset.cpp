// image_dataset_from_directory: indexes the folder (classes, files, labels) at once, then
// streams: file indices -> shuffle (a permutation per epoch) -> batch -> decode + resize
// (workers) -> prefetch.
// The workers decode a whole batch per task: the batches are those of decoding image by image
// and batching after, but the threads hand work over once per batch, not once per image —
// which matters while training keeps every core busy (a hand-off per 28x28 PNG cost more than
// its decoding, and the run 40% of its speed, on 2 cores).
#include "kiln/data/image_dataset.hpp"

#include <algorithm>
#include <iostream>
#include <mutex>
#include <numeric>
#include <set>

#include "data/pipeline/stream.hpp"
#include "kiln/data/images.hpp"
#include "kiln/error.hpp"

namespace kiln::data {
namespace {

namespace fs = std::filesystem;

bool is_image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".bmp" || ext == ".gif" || ext == ".jpeg" || ext == ".jpg" || ext == ".png";
}

// A class folder's images, sorted as Keras sorts them (by folder path, then file name).
std::vector<fs::path> images_in(const fs::path& dir, bool follow_links) {
  std::vector<std::pair<std::string, std::string>> found;
  auto opts = follow_links ? fs::directory_options::follow_directory_symlink : fs::directory_options::none;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, opts, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (it->is_regular_file(ec2) && is_image_name(it->path())) {
      found.emplace_back(it->path().parent_path().string(), it->path().filename().string());
    }
  }
  if (ec) throw Error("image_dataset_from_directory: cannot list " + dir.string() + ": " + ec.message());
  std::sort(found.begin(), found.end());
  std::vector<fs::path> out;
  for (const auto& [folder, name] : found) out.push_back(fs::path(folder) / name);
  return out;
}

int channels_of(const std::string& color_mode) {
  if (color_mode == "grayscale") return 1;
  if (color_mode == "rgb") return 3;
  if (color_mode == "rgba") return 4;
  throw Error("image_dataset_from_directory: color_mode must be \"grayscale\", \"rgb\" or \"rgba\", got \"" +
              color_mode + "\"");
}

void check_options(const ImageDatasetOptions& o, bool both) {
  const std::string where = "image_dataset_from_directory: ";
  if (o.label_mode != "int" && o.label_mode != "categorical" && o.label_mode != "binary" && !o.label_mode.empty()) {
    throw Error(where + "label_mode must be \"int\", \"categorical\", \"binary\" or \"\" (no labels), got \"" +
                o.label_mode + "\"");
  }
  channels_of(o.color_mode);
  if (o.batch_size < 0)
    throw Error(where + "batch_size must be >= 1 (or 0: unbatched), got " + std::to_string(o.batch_size));
  if (o.image_size[0] < 1 || o.image_size[1] < 1) {
    throw Error(where + "image_size must be positive, got " + std::to_string(o.image_size[0]) + "x" +
                std::to_string(o.image_size[1]));
  }
  if (o.interpolation != "bilinear" && o.interpolation != "nearest") {
    throw Error(where + "interpolation must be \"bilinear\" or \"nearest\", got \"" + o.interpolation + "\"");
  }
  if (!(o.validation_split >= 0 && o.validation_split < 1)) {
    throw Error(where + "validation_split must be in [0, 1), got " + std::to_string(o.validation_split));
  }
  if (!both) {
    if (!o.subset.empty() && o.subset != "training" && o.subset != "validation") {
      throw Error(
          where +
          "subset must be \"training\" or \"validation\" (for both, call image_datasets_from_directory), got \"" +
          o.subset + "\"");
    }
    if (o.validation_split > 0 && o.subset.empty()) {
      throw Error(where + "validation_split is given but subset is not; pass subset \"training\" or \"validation\"");
    }
    if (o.validation_split == 0 && !o.subset.empty()) {
      throw Error(where + "subset \"" + o.subset + "\" needs a validation_split");
    }
  }
  if (o.validation_split > 0 && o.shuffle && !o.seed) {
    throw Error(where +
                "with validation_split and shuffle, a seed is required, so that the training and validation "
                "subsets do not overlap");
  }
  if (o.num_parallel_calls < 1 && o.num_parallel_calls != AUTOTUNE) {
    throw Error(where + "num_parallel_calls must be >= 1 or AUTOTUNE (-1), got " +
                std::to_string(o.num_parallel_calls));
  }
}

struct Index {
  std::vector<std::string> class_names;
  std::vector<fs::path> files;
  std::vector<std::int32_t> labels;
};

Index index_directory(const fs::path& dir, const ImageDatasetOptions& o) {
  const std::string where = "image_dataset_from_directory: ";
  if (!fs::is_directory(dir)) {
    throw Error(where + dir.string() + (fs::exists(dir) ? " is not a folder" : " does not exist"));
  }
  std::vector<std::string> folders;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::error_code ec;
    if (entry.is_directory(ec)) folders.push_back(entry.path().filename().string());
  }
  std::sort(folders.begin(), folders.end());
  Index index;
  index.class_names = folders;
  if (!o.class_names.empty()) {
    for (const auto& name : o.class_names) {
      if (!std::binary_search(folders.begin(), folders.end(), name)) {
        std::string list;
        for (const auto& f : folders) list += (list.empty() ? "" : ", ") + f;
        throw Error(where + "class_names names \"" + name + "\", which is not a sub-folder of " + dir.string() +
                    " (its sub-folders: " + (list.empty() ? "none" : list) + ")");
      }
    }
    if (std::set<std::string>(o.class_names.begin(), o.class_names.end()).size() != o.class_names.size()) {
      throw Error(where + "class_names lists a name twice");
    }
    index.class_names = o.class_names;
  }
  if (index.class_names.empty()) {
    throw Error(where + dir.string() + " has no sub-folders; put each class's images in a folder named after it");
  }
  if (o.label_mode == "binary" && index.class_names.size() != 2) {
    throw Error(where + "label_mode \"binary\" needs exactly 2 classes, found " +
                std::to_string(index.class_names.size()) + " in " + dir.string());
  }
  for (std::size_t label = 0; label < index.class_names.size(); ++label) {
    const fs::path folder = dir / index.class_names[label];
    const auto files = images_in(folder, o.follow_links);
    if (files.empty()) {
      throw Error(where + "the class folder " + folder.string() +
                  " holds no images (.bmp, .gif, .jpeg, .jpg or .png); remove it or add images");
    }
    for (const auto& f : files) {
      index.files.push_back(f);
      index.labels.push_back(static_cast<std::int32_t>(label));
    }
  }
  return index;
}

// What the pipeline's map needs, shared by its workers (read-only but for the skip record).
struct Loader {
  std::vector<fs::path> files;
  std::vector<std::int32_t> labels;
  std::int64_t classes;
  ImageDatasetOptions options;
  int channels;
  bool skip;
  std::shared_ptr<std::atomic<std::int64_t>> skipped = std::make_shared<std::atomic<std::int64_t>>(0);
  std::mutex mutex;
  std::set<std::size_t> warned;

  // Filled by the workers when options.cache: each file's image, uint8 as decoded when it
  // has the target size already (resizing would be the identity), float32 resized otherwise.
  std::mutex cache_mutex;
  std::vector<Tensor> cached;

  Tensor decoded(std::size_t i) {
    if (options.cache) {
      std::lock_guard lock(cache_mutex);
      if (cached.empty()) cached.resize(files.size());
      if (cached[i].defined()) return cached[i].to(DType::Float32);
    }
    Tensor image = read_image(files[i], channels);
    if (image.size(0) != options.image_size[0] || image.size(1) != options.image_size[1]) {
      image = resize_image(image, options.image_size[0], options.image_size[1], options.interpolation,
                           options.crop_to_aspect_ratio);
    }
    if (options.cache) {
      std::lock_guard lock(cache_mutex);
      cached[i] = image;
    }
    return image.to(DType::Float32);
  }

  Batch load(std::size_t i) {
    Batch b;
    try {
      b.x = decoded(i);
    } catch (const Error& e) {
      if (!skip) throw;
      std::lock_guard lock(mutex);
      if (warned.insert(i).second) {
        ++*skipped;
        std::cerr << "Warning: skipping an unreadable image: " << e.what() << "\n";
      }
      return {};  // dropped
    }
    const std::int32_t label = labels[i];
    if (options.label_mode == "int") {
      b.y = Tensor::scalar(label, DType::Int32);
    } else if (options.label_mode == "categorical") {
      b.y = Tensor::zeros({classes});
      b.y.data<float>()[label] = 1.0f;
    } else if (options.label_mode == "binary") {
      b.y = Tensor::full({1}, label);
    }
    return b;
  }

  // The images of a batch of indices, stacked (the unreadable ones left out when skipping;
  // an empty Batch, which the map drops, when none is left).
  Batch load_batch(const Tensor& indices) {
    std::vector<Batch> images;
    images.reserve(static_cast<std::size_t>(indices.numel()));
    const Tensor ids = indices.to(DType::Int64).contiguous();
    for (std::int64_t k = 0; k < ids.numel(); ++k) {
      Batch b = load(static_cast<std::size_t>(ids.data<std::int64_t>()[k]));
      if (b.x.defined()) images.push_back(std::move(b));
    }
    if (images.empty()) return {};
    return detail::stack(images, "image_dataset_from_directory");
  }
};

ImageDataset make_subset(const Index& index, std::size_t begin, std::size_t end, const ImageDatasetOptions& o,
                         std::uint64_t seed) {
  auto loader = std::make_shared<Loader>();
  loader->files.assign(index.files.begin() + begin, index.files.begin() + end);
  loader->labels.assign(index.labels.begin() + begin, index.labels.begin() + end);
  loader->classes = static_cast<std::int64_t>(index.class_names.size());
  loader->options = o;
  loader->channels = channels_of(o.color_mode);
  loader->skip = o.skip_invalid_images;
  // The source is the files' indices, in memory (8 bytes a file), so shuffling is a full
  // permutation each epoch rather than Keras's buffer of 8 batches over one fixed order (a limit
  // of tf.data's streams that an index has not).
  const auto count = static_cast<std::int64_t>(end - begin);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(count));
  std::iota(ids.begin(), ids.end(), std::int64_t(0));
  Pipeline p = Pipeline(Dataset(Tensor::from_vector(ids)));
  if (o.shuffle) p = p.shuffle(count, seed);
  if (o.batch_size) {
    p = p.batch(o.batch_size).map([loader](Batch b) { return loader->load_batch(b.x); }, o.num_parallel_calls);
  } else {
    p = p.map([loader](Batch b) { return loader->load(static_cast<std::size_t>(b.x.item())); }, o.num_parallel_calls);
  }
  p = p.prefetch(AUTOTUNE);
  return ImageDataset(std::move(p), index.class_names, loader->files, loader->labels, loader->skipped);
}

// Shuffles files and labels together, once, as Keras does before splitting.
void shuffle_index(Index& index, std::uint64_t seed) {
  Generator g(seed);
  for (std::size_t i = index.files.size(); i > 1; --i) {
    const std::size_t j = g.below(i);
    std::swap(index.files[i - 1], index.files[j]);
    std::swap(index.labels[i - 1], index.labels[j]);
  }
}

struct Prepared {
  Index index;
  std::uint64_t seed;
  std::size_t validation;  // files at the end held out
};

Prepared prepare(const fs::path& directory, const ImageDatasetOptions& o) {
  Prepared p{index_directory(directory, o), o.seed ? *o.seed : default_generator().next_u64(), 0};
  if (o.verbose) {
    std::cout << "Found " << p.index.files.size() << " files belonging to " << p.index.class_names.size()
              << " classes.\n";
  }
  if (o.shuffle) shuffle_index(p.index, p.seed);
  p.validation = static_cast<std::size_t>(o.validation_split * double(p.index.files.size()));
  if (o.validation_split > 0 && (p.validation == 0 || p.validation == p.index.files.size())) {
    throw Error("image_dataset_from_directory: validation_split " + std::to_string(o.validation_split) + " of " +
                std::to_string(p.index.files.size()) + " files leaves an empty training or validation subset");
  }
  return p;
}

}  // namespace

ImageDataset image_dataset_from_directory(const fs::path& directory, const ImageDatasetOptions& o) {
  check_options(o, false);
  const Prepared p = prepare(directory, o);
  const std::size_t n = p.index.files.size(), split = n - p.validation;
  const bool validation = o.subset == "validation";
  if (o.verbose && o.validation_split > 0) {
    std::cout << "Using " << (validation ? p.validation : split) << " files for " << o.subset << ".\n";
  }
  return validation ? make_subset(p.index, split, n, o, p.seed) : make_subset(p.index, 0, split, o, p.seed);
}

std::pair<ImageDataset, ImageDataset> image_datasets_from_directory(const fs::path& directory, ImageDatasetOptions o) {
  if (!o.subset.empty() && o.subset != "both") {
    throw Error("image_datasets_from_directory: gives both subsets; subset must be empty or \"both\", got \"" +
                o.subset + "\"");
  }
  if (!(o.validation_split > 0)) {
    throw Error("image_datasets_from_directory: needs a validation_split in (0, 1), got " +
                std::to_string(o.validation_split));
  }
  check_options(o, true);
  const Prepared p = prepare(directory, o);
  const std::size_t n = p.index.files.size(), split = n - p.validation;
  if (o.verbose) {
    std::cout << "Using " << split << " files for training.\nUsing " << p.validation << " files for validation.\n";
  }
  return {make_subset(p.index, 0, split, o, p.seed), make_subset(p.index, split, n, o, p.seed)};
}

}  // namespace kiln::data
