// image_dataset_from_directory on folders the tests write: classes, labels in each mode,
// colour modes, splits, shuffling, resizing and the errors of bad folders and files.
#include "kiln/data/image_dataset.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "data/image_test_util.hpp"

namespace kiln::test {
namespace {

using data::image_dataset_from_directory;
using data::ImageDatasetOptions;

// Image i of class c is 4x4 RGB with every value 10 c + i (so each image is identifiable).
void write_folder(const TempDir& dir, const std::map<std::string, int>& classes, const std::string& ext = ".png") {
  int c = 0;
  for (const auto& [name, count] : classes) {
    for (int i = 0; i < count; ++i) {
      const int v = 10 * c + i;
      write_image(dir / name / ("img" + std::to_string(i) + ext), 4, 4, 3,
                  pixels(4, 4, 3, [v](int, int, int) { return v; }));
    }
    ++c;
  }
}

// Every (image value, label) pair of one pass.
std::vector<std::pair<int, int>> pairs(const data::Pipeline& p) {
  std::vector<std::pair<int, int>> out;
  for (const auto& b : p.collect()) {
    const auto x = b.x.to_vector<float>();
    const auto y = b.y.to(DType::Int64).to_vector<std::int64_t>();
    const std::size_t per = x.size() / y.size();
    for (std::size_t i = 0; i < y.size(); ++i) out.emplace_back(int(x[i * per]), int(y[i]));
  }
  return out;
}

ImageDatasetOptions quiet(ImageDatasetOptions o) {
  o.verbose = false;
  return o;
}

TEST(ImageDataset, ClassesAreSortedSubFoldersAndLabelsFollowThem) {
  TempDir dir;
  write_folder(dir, {{"b_dog", 3}, {"a_cat", 2}});
  const auto ds =
      image_dataset_from_directory(dir.path(), quiet({.batch_size = 2, .image_size = {4, 4}, .shuffle = false}));
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"a_cat", "b_dog"}));
  EXPECT_EQ(ds.file_paths.size(), 5u);
  EXPECT_EQ(ds.cardinality(), 3);
  const auto batches = ds.collect();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].x.shape(), Shape({2, 4, 4, 3}));
  EXPECT_EQ(batches[0].x.dtype(), DType::Float32);
  EXPECT_EQ(batches[0].y.dtype(), DType::Int32);
  EXPECT_EQ(batches[2].x.shape(), Shape({1, 4, 4, 3}));
  // write_folder numbers classes in map order (a_cat 0.., b_dog 10..): sorted files, unshuffled.
  EXPECT_EQ(pairs(ds), (std::vector<std::pair<int, int>>{{0, 0}, {1, 0}, {10, 1}, {11, 1}, {12, 1}}));
  // class_names: a subset, in the order given.
  const auto only_dogs = image_dataset_from_directory(
      dir.path(), quiet({.class_names = {"b_dog"}, .batch_size = 8, .image_size = {4, 4}, .shuffle = false}));
  EXPECT_EQ(pairs(only_dogs), (std::vector<std::pair<int, int>>{{10, 0}, {11, 0}, {12, 0}}));
  const auto reversed = image_dataset_from_directory(
      dir.path(), quiet({.class_names = {"b_dog", "a_cat"}, .batch_size = 8, .image_size = {4, 4}, .shuffle = false}));
  EXPECT_EQ(pairs(reversed).front(), std::make_pair(10, 0));
  EXPECT_EQ(pairs(reversed).back(), std::make_pair(1, 1));
}

TEST(ImageDataset, LabelModes) {
  TempDir dir;
  write_folder(dir, {{"a", 1}, {"b", 2}});
  auto first = [&](const std::string& mode) {
    return image_dataset_from_directory(
               dir.path(), quiet({.label_mode = mode, .batch_size = 3, .image_size = {4, 4}, .shuffle = false}))
        .collect()[0];
  };
  const auto categorical = first("categorical");
  EXPECT_EQ(categorical.y.shape(), Shape({3, 2}));
  EXPECT_EQ(categorical.y.to_vector<float>(), (std::vector<float>{1, 0, 0, 1, 0, 1}));
  const auto binary = first("binary");
  EXPECT_EQ(binary.y.shape(), Shape({3, 1}));
  EXPECT_EQ(binary.y.dtype(), DType::Float32);
  EXPECT_EQ(binary.y.to_vector<float>(), (std::vector<float>{0, 1, 1}));
  EXPECT_FALSE(first("").y.defined());
  write_folder(dir, {{"c", 1}});
  const std::string message = error_of([&] { first("binary"); });
  EXPECT_NE(message.find("exactly 2 classes"), std::string::npos) << message;
}

TEST(ImageDataset, ColourModesAndFormats) {
  TempDir dir;
  // One class, four formats; the GIF and PNG hold the same 2x2 picture.
  const std::vector<std::array<std::uint8_t, 3>> palette = {{0, 0, 0}, {200, 100, 50}, {0, 0, 0}, {0, 0, 0}};
  write_file(dir / "k" / "a.gif", gif_bytes(2, 2, palette, {1, 1, 1, 1}));
  write_image(dir / "k" / "b.png", 2, 2, 3, pixels(2, 2, 3, [&](int, int, int k) { return palette[1][k]; }));
  write_image(dir / "k" / "c.BMP", 2, 2, 3, pixels(2, 2, 3, [&](int, int, int k) { return palette[1][k]; }));
  write_file(dir / "k" / "notes.txt", {'x'});  // not an image name: ignored
  for (const auto& [mode, channels] :
       std::vector<std::pair<std::string, int>>{{"rgb", 3}, {"grayscale", 1}, {"rgba", 4}}) {
    const auto batch =
        image_dataset_from_directory(
            dir.path(), quiet({.color_mode = mode, .batch_size = 8, .image_size = {2, 2}, .shuffle = false}))
            .collect()[0];
    ASSERT_EQ(batch.x.shape(), Shape({3, 2, 2, channels})) << mode;
    const auto v = batch.x.to_vector<float>();
    for (int img = 0; img < 3; ++img) {
      const float* px = v.data() + img * 4 * channels;
      if (mode == "grayscale") {
        EXPECT_EQ(px[0], (77 * 200 + 150 * 100 + 29 * 50) >> 8) << img;
      } else {
        EXPECT_EQ(px[0], 200) << mode << " " << img;
        EXPECT_EQ(px[2], 50) << mode << " " << img;
        if (channels == 4) {
          EXPECT_EQ(px[3], 255) << img;
        }
      }
    }
  }
}

TEST(ImageDataset, ImagesAreResizedToImageSize) {
  TempDir dir;
  // A 4x4 grey ramp along x (0, 40, 80, 120) resized to 2x2: bilinear takes pair means.
  write_image(dir / "a" / "r.png", 4, 4, 1, pixels(4, 4, 1, [](int, int x, int) { return 40 * x; }));
  auto batch = image_dataset_from_directory(dir.path(),
                                            quiet({.color_mode = "grayscale", .batch_size = 1, .image_size = {2, 2}}))
                   .collect()[0];
  EXPECT_EQ(batch.x.to_vector<float>(), (std::vector<float>{20, 100, 20, 100}));
  batch = image_dataset_from_directory(
              dir.path(),
              quiet({.color_mode = "grayscale", .batch_size = 1, .image_size = {2, 2}, .interpolation = "nearest"}))
              .collect()[0];
  EXPECT_EQ(batch.x.to_vector<float>(), (std::vector<float>{40, 120, 40, 120}));
  // Unbatched: one image per element.
  const auto one = image_dataset_from_directory(
                       dir.path(), quiet({.color_mode = "grayscale", .batch_size = 0, .image_size = {3, 5}}))
                       .collect();
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].x.shape(), Shape({3, 5, 1}));
  EXPECT_EQ(one[0].y.item(), 0);
}

TEST(ImageDataset, ValidationSplitIsDisjointAndReproducible) {
  TempDir dir;
  write_folder(dir, {{"a", 6}, {"b", 6}, {"c", 8}});
  auto subset = [&](const std::string& which, std::uint64_t seed) {
    return image_dataset_from_directory(
        dir.path(),
        quiet({.batch_size = 4, .image_size = {4, 4}, .seed = seed, .validation_split = 0.25, .subset = which}));
  };
  const auto train = subset("training", 3), val = subset("validation", 3);
  EXPECT_EQ(train.file_paths.size(), 15u);  // 20 - int(0.25 * 20)
  EXPECT_EQ(val.file_paths.size(), 5u);
  std::set<std::filesystem::path> all(train.file_paths.begin(), train.file_paths.end());
  all.insert(val.file_paths.begin(), val.file_paths.end());
  EXPECT_EQ(all.size(), 20u);
  // The elements are the subset's files with their labels, in a shuffled order.
  const auto got = pairs(val);
  EXPECT_EQ(got.size(), 5u);
  for (const auto& [value, label] : got) EXPECT_EQ(value / 10, label);
  EXPECT_EQ(pairs(subset("training", 3)), pairs(train));
  EXPECT_TRUE(subset("training", 4).file_paths != train.file_paths);
  const auto [t2, v2] = data::image_datasets_from_directory(
      dir.path(), quiet({.batch_size = 4, .image_size = {4, 4}, .seed = 3, .validation_split = 0.25}));
  EXPECT_TRUE(t2.file_paths == train.file_paths);
  EXPECT_TRUE(v2.file_paths == val.file_paths);
  // Shuffling each epoch differently, and not at all without shuffle.
  const auto next_epoch = [&] {
    std::vector<std::pair<int, int>> out;
    for (const auto& b : train.collect(1)) {
      const auto x = b.x.to_vector<float>();
      const auto y = b.y.to_vector<std::int32_t>();
      for (std::size_t i = 0; i < y.size(); ++i) out.emplace_back(int(x[i * 48]), y[i]);
    }
    return out;
  }();
  EXPECT_NE(pairs(train), next_epoch);
}

// Workers decode a batch per task: the batches are the images of the unbatched pipeline, in its
// order, cut every batch_size; every epoch is a new permutation of all the files.
TEST(ImageDataset, BatchesHoldTheUnbatchedElementsInOrder) {
  TempDir dir;
  write_folder(dir, {{"a", 9}, {"b", 8}});
  const auto with_batch = [&](std::int64_t b) {
    return image_dataset_from_directory(dir.path(), quiet({.batch_size = b, .image_size = {4, 4}, .seed = 5}));
  };
  const auto batched = with_batch(5), single = with_batch(0);
  EXPECT_EQ(batched.cardinality(), 4);
  const auto sizes = [&] {
    std::vector<std::int64_t> out;
    for (const auto& b : batched.collect()) out.push_back(b.x.size(0));
    return out;
  }();
  EXPECT_EQ(sizes, (std::vector<std::int64_t>{5, 5, 5, 2}));
  EXPECT_EQ(pairs(batched), pairs(single));
  std::set<std::pair<int, int>> seen;
  for (const auto& pair : pairs(batched)) seen.insert(pair);
  EXPECT_EQ(seen.size(), 17u);
  EXPECT_EQ(pairs(batched), pairs(with_batch(5)));  // the same seed, the same first pass
  std::vector<std::pair<int, int>> second_pass;
  for (const auto& b : batched.collect(1)) {
    const auto x = b.x.to_vector<float>();
    const auto y = b.y.to_vector<std::int32_t>();
    for (std::size_t i = 0; i < y.size(); ++i) second_pass.emplace_back(int(x[i * 48]), y[i]);
  }
  EXPECT_NE(second_pass, pairs(batched));
  const std::set<std::pair<int, int>> second_seen(second_pass.begin(), second_pass.end());
  EXPECT_EQ(second_seen, seen);
}

// cache: the first pass decodes, later passes read no file (they work with the folder gone) and
// give the same images; resized ones too.
TEST(ImageDataset, CachedImagesAreDecodedOnce) {
  for (const std::int64_t side : {4, 3}) {  // the files' size, and a resize
    TempDir dir;
    write_folder(dir, {{"a", 3}, {"b", 4}});
    const auto ds = image_dataset_from_directory(
        dir.path(), quiet({.batch_size = 3, .image_size = {side, side}, .seed = 2, .cache = true}));
    const auto uncached =
        image_dataset_from_directory(dir.path(), quiet({.batch_size = 3, .image_size = {side, side}, .seed = 2}));
    const auto first = ds.collect(0);
    EXPECT_EQ(pairs(uncached), pairs(ds));
    std::filesystem::remove_all(dir / "a");
    std::filesystem::remove_all(dir / "b");
    const auto again = ds.collect(0);
    ASSERT_EQ(again.size(), first.size());
    for (std::size_t i = 0; i < first.size(); ++i) {
      EXPECT_EQ(again[i].x.dtype(), DType::Float32);
      EXPECT_EQ(again[i].x.to_vector<float>(), first[i].x.to_vector<float>()) << "batch " << i;
      EXPECT_EQ(again[i].y.to_vector<std::int32_t>(), first[i].y.to_vector<std::int32_t>());
    }
    EXPECT_EQ(ds.collect(1).size(), first.size());  // another order, still from memory
    EXPECT_NE(error_of([&] { uncached.collect(); }), "") << "without cache the files are read again";
  }
}

TEST(ImageDataset, OptionErrorsAreNamed) {
  TempDir dir;
  write_folder(dir, {{"a", 2}});
  auto error = [&](ImageDatasetOptions o) {
    return error_of([&] { image_dataset_from_directory(dir.path(), quiet(o)); });
  };
  EXPECT_NE(error({.validation_split = 0.5, .subset = "training"}).find("seed"), std::string::npos);
  EXPECT_NE(error({.seed = 1, .validation_split = 0.5}).find("subset"), std::string::npos);
  EXPECT_NE(error({.label_mode = "sparse"}).find("label_mode"), std::string::npos);
  EXPECT_NE(error({.color_mode = "cmyk"}).find("color_mode"), std::string::npos);
  EXPECT_NE(error({.class_names = {"zebra"}}).find("zebra"), std::string::npos);
  EXPECT_NE(error({.interpolation = "area"}).find("interpolation"), std::string::npos);
  EXPECT_NE(error_of([&] { image_dataset_from_directory(dir / "nowhere"); }).find("does not exist"), std::string::npos);
}

TEST(ImageDataset, EmptyClassFolderIsAnErrorNamingIt) {
  TempDir dir;
  write_folder(dir, {{"a", 2}});
  std::filesystem::create_directories(dir / "empty_class");
  const std::string message = error_of([&] { image_dataset_from_directory(dir.path(), quiet({})); });
  EXPECT_NE(message.find("empty_class"), std::string::npos) << message;
  TempDir none;
  EXPECT_NE(error_of([&] { image_dataset_from_directory(none.path(), quiet({})); }).find("no sub-folders"),
            std::string::npos);
}

TEST(ImageDataset, UnreadableImagesStopTheRunOrAreSkippedOnRequest) {
  TempDir dir;
  write_folder(dir, {{"a", 3}});
  write_file(dir / "a" / "fake.png", {'n', 'o', 't', ' ', 'a', ' ', 'p', 'n', 'g'});
  const auto strict =
      image_dataset_from_directory(dir.path(), quiet({.batch_size = 2, .image_size = {4, 4}, .shuffle = false}));
  const std::string message = error_of([&] { strict.collect(); });
  EXPECT_NE(message.find("fake.png"), std::string::npos) << message;
  const auto lenient = image_dataset_from_directory(
      dir.path(), quiet({.batch_size = 2, .image_size = {4, 4}, .shuffle = false, .skip_invalid_images = true}));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(pairs(lenient), (std::vector<std::pair<int, int>>{{0, 0}, {1, 0}, {2, 0}}));
  EXPECT_EQ(pairs(lenient).size(), 3u);  // a second pass warns no more
  const std::string warnings = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(lenient.skipped(), 1);
  EXPECT_NE(warnings.find("fake.png"), std::string::npos) << warnings;
  EXPECT_EQ(warnings.find("fake.png"), warnings.rfind("fake.png")) << "named once:\n" << warnings;
}

}  // namespace
}  // namespace kiln::test
