// image_dataset_from_directory: Keras's function of that name, as a streaming Pipeline.
//
//   photos/
//     cat/  a.jpg b.png ...        label 0 ("cat")
//     dog/  c.jpg sub/d.gif ...    label 1 ("dog")
//
//   auto train = kiln::data::image_dataset_from_directory("photos",
//       {.image_size = {64, 64}, .seed = 1, .validation_split = 0.2, .subset = "training"});
//   model.fit(train, {.epochs = 10});      // train.class_names == {"cat", "dog"}
//
// Keras's semantics and defaults: classes are the sub-folders in alphanumeric order (or
// class_names, a subset in the order given); images are found recursively in each (.bmp,
// .gif, .jpeg, .jpg, .png, any case) and sorted; the file list is shuffled once with the
// seed and its last validation_split taken for validation; the dataset then shuffles file
// names (a buffer of 8 batches), decodes and resizes them on worker threads, batches and
// prefetches. Images are float32 [height, width, channels] in [0, 255].
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kiln/data/pipeline.hpp"

namespace kiln::data {

struct ImageDatasetOptions {
  // "int" (int32 [batch]), "categorical" (float32 one-hot [batch, classes]), "binary"
  // (float32 [batch, 1]; two classes), or "" (Keras's None: images only).
  std::string label_mode = "int";
  // Which sub-folders are classes, in label order (default: all, sorted).
  std::vector<std::string> class_names;
  std::string color_mode = "rgb";                       // "grayscale", "rgb" or "rgba"
  std::int64_t batch_size = 32;                         // 0: unbatched (Keras's None)
  std::array<std::int64_t, 2> image_size = {256, 256};  // height, width
  bool shuffle = true;
  // Seeds the shuffling (required with validation_split and shuffle, so that the subsets of
  // two calls do not overlap). Default: drawn from the default generator.
  std::optional<std::uint64_t> seed;
  double validation_split = 0.0;
  std::string subset;  // "training" or "validation" with validation_split (both: image_datasets_from_directory)
  std::string interpolation = "bilinear";  // or "nearest"
  bool follow_links = false;
  bool crop_to_aspect_ratio = false;
  // Kiln's: an image that cannot be read is skipped with a warning naming it (once), not an
  // Error ending the run. skipped() counts them.
  bool skip_invalid_images = false;
  // Kiln's: keep each image once decoded (and resized) in memory, so that later epochs read no
  // files — Keras's `.cache()` after loading, but under the per-epoch shuffle. Images that need no
  // resizing are kept as uint8 (1 byte a value). For folders whose decoded images fit in memory.
  bool cache = false;
  bool verbose = true;  // "Found N files belonging to M classes." on standard output
  int num_parallel_calls = AUTOTUNE;
};

class ImageDataset : public Pipeline {
 public:
  ImageDataset() = default;
  ImageDataset(Pipeline pipeline, std::vector<std::string> class_names, std::vector<std::filesystem::path> files,
               std::vector<std::int32_t> labels, std::shared_ptr<std::atomic<std::int64_t>> skipped)
      : Pipeline(std::move(pipeline)),
        class_names(std::move(class_names)),
        file_paths(std::move(files)),
        labels(std::move(labels)),
        skipped_(std::move(skipped)) {}

  std::vector<std::string> class_names;
  std::vector<std::filesystem::path> file_paths;  // this subset's files (shuffled once if shuffle)
  std::vector<std::int32_t> labels;               // their labels, in the same order
  // Images skipped so far as unreadable (skip_invalid_images).
  std::int64_t skipped() const { return skipped_ ? skipped_->load() : 0; }

 private:
  std::shared_ptr<std::atomic<std::int64_t>> skipped_;
};

// Throws an Error naming the folder or the option: no such folder, no class folders, a class
// folder without images, class_names not among the folders, an invalid option.
// Unreadable images are reported (file named) when the dataset is iterated.
ImageDataset image_dataset_from_directory(const std::filesystem::path& directory,
                                          const ImageDatasetOptions& options = {});
// Keras's subset="both": the training and the validation dataset of one split.
std::pair<ImageDataset, ImageDataset> image_datasets_from_directory(const std::filesystem::path& directory,
                                                                    ImageDatasetOptions options);

}  // namespace kiln::data
