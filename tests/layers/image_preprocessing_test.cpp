// Keras's image preprocessing and augmentation layers: fixed transforms (a factor range of one
// value) against hand-computed images, the random draws' ranges and seeds, identity outside
// training, one image without a batch axis, configs (Kiln's and Keras 3's), errors naming the
// layer and argument, and input gradients against finite differences in double precision.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <numbers>

#include "kiln/kiln.hpp"
#include "support/common.hpp"
#include "support/gradcheck.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;

// n images [h, w, c] with values 100 b + 10 y + x (+ 0.5 per channel), float32.
Tensor preprocessing_images(std::int64_t n, std::int64_t h, std::int64_t w, std::int64_t c = 1) {
  std::vector<float> v;
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x)
        for (std::int64_t k = 0; k < c; ++k) v.push_back(float(100 * b + 10 * y + x) + 0.5f * float(k));
  return Tensor::from_vector(v, {n, h, w, c});
}

std::string preprocessing_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Resizing, ResizesLikeResizeImagesInTrainingAndInference) {
  const Tensor x = preprocessing_images(2, 5, 6, 2);
  Resizing layer(3, 4);
  const auto expected = resize_images(x, 3, 4).to_vector<float>();
  EXPECT_EQ(layer(x, false).to_vector<float>(), expected);
  EXPECT_EQ(layer(x, true).to_vector<float>(), expected);
  EXPECT_EQ(layer.output_shape(), (Shape{3, 4, 2}));
  // Another image size is fine (Keras builds these layers for any height and width); one image
  // without a batch axis gives one image.
  EXPECT_EQ(layer(preprocessing_images(1, 9, 2, 2)).shape(), (Shape{1, 3, 4, 2}));
  const Tensor one = layer(x.slice(1, 2).reshape({5, 6, 2}));
  EXPECT_EQ(one.shape(), (Shape{3, 4, 2}));
  EXPECT_EQ(one.to_vector<float>(), std::vector<float>(expected.begin() + 24, expected.end()));
  Resizing nearest(2, 3, {.interpolation = "nearest", .crop_to_aspect_ratio = true});
  EXPECT_EQ(nearest(x).to_vector<float>(), resize_images(x, 2, 3, "nearest", true).to_vector<float>());
  EXPECT_THROW(layer(Tensor::zeros({2, 5, 6, 3})), Error);  // the channel count is fixed once built
}

TEST(CenterCrop, CropsTheCentreOrSmartResizesSmallerImages) {
  // 4x5 -> 2x3: offsets int((4 - 2) / 2) = 1 and int((5 - 3) / 2) = 1.
  CenterCrop crop(2, 3);
  EXPECT_EQ(crop(preprocessing_images(1, 4, 5)).to_vector<float>(), (std::vector<float>{11, 12, 13, 21, 22, 23}));
  // 5x6 -> 2x3: offsets 1 and 1 (int(1.5) = 1).
  EXPECT_EQ(crop(preprocessing_images(1, 5, 6)).to_vector<float>(), (std::vector<float>{11, 12, 13, 21, 22, 23}));
  // Smaller in one side: Keras's smart_resize.
  const Tensor small = preprocessing_images(1, 1, 8);
  EXPECT_EQ(crop(small).to_vector<float>(), resize_images(small, 2, 3, "bilinear", true).to_vector<float>());
}

// The offset of `window` [h, w] inside `image` [H, W] (single channel), or {-1, -1}.
std::pair<std::int64_t, std::int64_t> window_offset(const std::vector<float>& image, std::int64_t H, std::int64_t W,
                                                    const std::vector<float>& window, std::int64_t h, std::int64_t w) {
  for (std::int64_t top = 0; top + h <= H; ++top) {
    for (std::int64_t left = 0; left + w <= W; ++left) {
      bool same = true;
      for (std::int64_t y = 0; y < h && same; ++y)
        for (std::int64_t x = 0; x < w && same; ++x)
          same =
              image[static_cast<std::size_t>((top + y) * W + left + x)] == window[static_cast<std::size_t>(y * w + x)];
      if (same) return {top, left};
    }
  }
  return {-1, -1};
}

TEST(RandomCrop, CropsAtUniformOffsetsInTrainingAndSmartResizesOtherwise) {
  const std::int64_t n = 300;
  const Tensor x = preprocessing_images(n, 5, 6);
  RandomCrop crop(3, 3, /*seed=*/5);
  const auto out = crop(x, true).to_vector<float>();
  const auto in = x.to_vector<float>();
  std::vector<int> tops(3, 0), lefts(4, 0);
  for (std::int64_t b = 0; b < n; ++b) {
    const auto [top, left] = window_offset(std::vector<float>(in.begin() + b * 30, in.begin() + (b + 1) * 30), 5, 6,
                                           std::vector<float>(out.begin() + b * 9, out.begin() + (b + 1) * 9), 3, 3);
    ASSERT_GE(top, 0) << "image " << b << " is no window of its input";
    ++tops[static_cast<std::size_t>(top)];
    ++lefts[static_cast<std::size_t>(left)];
  }
  for (int t : tops) EXPECT_NEAR(t, n / 3, 40);   // offsets 0..2, each about a third
  for (int l : lefts) EXPECT_NEAR(l, n / 4, 35);  // offsets 0..3
  RandomCrop again(3, 3, 5);
  EXPECT_EQ(again(x, true).to_vector<float>(), out);
  EXPECT_NE(again(x, true).to_vector<float>(), out);
  EXPECT_EQ(crop(x, false).to_vector<float>(), resize_images(x, 3, 3, "bilinear", true).to_vector<float>());
  EXPECT_EQ(crop(x, false).shape(), (Shape{n, 3, 3, 1}));
}

TEST(RandomTranslation, AFixedOnePixelShiftUnderEachFillMode) {
  // width_factor (0.25, 0.25) on a width of 4: every image moves exactly one pixel right.
  const Tensor row = Tensor::from_vector<float>({1, 2, 3, 4}, {1, 1, 4, 1});
  const auto shifted = [&](const char* mode) {
    RandomTranslation layer(0.0, Factor(0.25, 0.25), {.fill_mode = mode, .seed = 1, .fill_value = 9});
    return layer(row, true).to_vector<float>();
  };
  EXPECT_EQ(shifted("reflect"), (std::vector<float>{1, 1, 2, 3}));
  EXPECT_EQ(shifted("wrap"), (std::vector<float>{4, 1, 2, 3}));
  EXPECT_EQ(shifted("nearest"), (std::vector<float>{1, 1, 2, 3}));
  EXPECT_EQ(shifted("constant"), (std::vector<float>{9, 1, 2, 3}));
  // height_factor (-0.5, -0.5) on a height of 2: one row up.
  const Tensor column = Tensor::from_vector<float>({1, 2}, {1, 2, 1, 1});
  RandomTranslation up(Factor(-0.5, -0.5), 0.0, {.fill_mode = "constant", .seed = 1});
  EXPECT_EQ(up(column, true).to_vector<float>(), (std::vector<float>{2, 0}));
}

TEST(RandomRotation, AFixedQuarterTurnAndAnglesWithinTheFactor) {
  // factor (0.25, 0.25): a quarter turn, counter-clockwise.
  const Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3, 1});
  RandomRotation quarter(Factor(0.25, 0.25), {.seed = 1});
  testing::expect_values(quarter(x, true), {3, 6, 9, 2, 5, 8, 1, 4, 7}, 1e-5);
  // factor 0.1: angles uniform in [-0.2 pi, 0.2 pi]. A bright 3x3 square 2 to the right of the
  // centre of a 9x9 image goes round the centre; its angle is read back from the output's centroid.
  const std::int64_t n = 200;
  Tensor dots = Tensor::zeros({n, 9, 9, 1});
  for (std::int64_t b = 0; b < n; ++b)
    for (int y = 3; y <= 5; ++y)
      for (int xx = 5; xx <= 7; ++xx) dots.data<float>()[b * 81 + y * 9 + xx] = 1;
  RandomRotation layer(0.1, {.fill_mode = "constant", .seed = 3});
  const auto out = layer(dots, true).to_vector<float>();
  double lowest = 10, highest = -10;
  for (std::int64_t b = 0; b < n; ++b) {
    double mass = 0, cx = 0, cy = 0;
    for (int y = 0; y < 9; ++y)
      for (int xx = 0; xx < 9; ++xx) {
        const double v = out[static_cast<std::size_t>(b * 81 + y * 9 + xx)];
        mass += v, cx += v * xx, cy += v * y;
      }
    ASSERT_GT(mass, 6) << "the square left the image";
    const double angle = std::atan2(-(cy / mass - 4), cx / mass - 4);  // y grows downwards
    EXPECT_LE(std::abs(angle), 0.2 * std::numbers::pi + 0.1) << "image " << b;
    lowest = std::min(lowest, angle), highest = std::max(highest, angle);
  }
  EXPECT_LT(lowest, -0.5);  // both directions, most of the range
  EXPECT_GT(highest, 0.5);
}

TEST(RandomZoom, AFixedZoomOfTwo) {
  // height_factor (-0.5, -0.5), no width_factor: both axes zoom by 0.5, twice the size.
  const Tensor x = preprocessing_images(1, 4, 4);
  RandomZoom zoom(Factor(-0.5, -0.5), std::nullopt, {.seed = 1});
  std::vector<double> expected;
  for (int y = 0; y < 4; ++y)
    for (int xx = 0; xx < 4; ++xx) expected.push_back(10 * (0.5 * y + 0.75) + 0.5 * xx + 0.75);
  testing::expect_values(zoom(x, true), expected, 1e-4);
  // A width_factor of its own: rows keep their size, columns are magnified.
  RandomZoom wide(Factor(0.0, 0.0), Factor(-0.5, -0.5), {.seed = 1});
  expected.clear();
  for (int y = 0; y < 4; ++y)
    for (int xx = 0; xx < 4; ++xx) expected.push_back(10 * y + 0.5 * xx + 0.75);
  testing::expect_values(wide(x, true), expected, 1e-4);
}

TEST(RandomContrast, ScalesAboutEachChannelsMeanWithinTheRange) {
  // Values 100..150 with factor 0.5: f in [0.5, 1.5], no clipping, so each image's channel means
  // stay and (y - mean) / (x - mean) is one f per image.
  Tensor x = testing::random_tensor({50, 3, 4, 2}, 4) * 25.0 + 125.0;
  RandomContrast layer(0.5, {.seed = 2});
  EXPECT_EQ(layer.range(), (std::pair<double, double>{0.5, 1.5}));
  const Tensor y = layer(x, true);
  const auto xv = x.to_vector<float>(), yv = y.to_vector<float>();
  const auto mx = mean(x, {1, 2}).to_vector<float>(), my = mean(y, {1, 2}).to_vector<float>();
  for (std::size_t i = 0; i < mx.size(); ++i) EXPECT_NEAR(mx[i], my[i], 1e-3);
  double lowest = 2, highest = 0;
  for (std::int64_t b = 0; b < 50; ++b) {
    double num = 0, den = 0;  // f by least squares over the image
    for (std::int64_t p = 0; p < 12; ++p)
      for (std::int64_t c = 0; c < 2; ++c) {
        const std::size_t i = static_cast<std::size_t>(b * 24 + p * 2 + c);
        num += (yv[i] - my[b * 2 + c]) * (xv[i] - mx[b * 2 + c]);
        den += (xv[i] - mx[b * 2 + c]) * (xv[i] - mx[b * 2 + c]);
      }
    const double f = num / den;
    for (std::int64_t p = 0; p < 12; ++p)
      for (std::int64_t c = 0; c < 2; ++c) {
        const std::size_t i = static_cast<std::size_t>(b * 24 + p * 2 + c);
        EXPECT_NEAR(yv[i], (xv[i] - mx[b * 2 + c]) * f + mx[b * 2 + c], 1e-2);
      }
    EXPECT_GE(f, 0.5 - 1e-3);
    EXPECT_LE(f, 1.5 + 1e-3);
    lowest = std::min(lowest, f), highest = std::max(highest, f);
  }
  EXPECT_LT(lowest, 0.7);
  EXPECT_GT(highest, 1.3);
  // Clipped to value_range.
  RandomContrast strong(Factor(0.0, 1.0), {.value_range = {0, 1}, .seed = 1});
  for (float v : strong(testing::random_tensor({20, 4, 4, 1}, 6), true).to_vector<float>()) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LE(v, 1.0f);
  }
}

TEST(RandomBrightness, AddsAFractionOfTheValueRangeAndClips) {
  // factor (0.1, 0.1): exactly 0.1 * 255 = 25.5 added, clipped at 255.
  const Tensor x = Tensor::from_vector<float>({0, 100, 240}, {1, 1, 3, 1});
  RandomBrightness fixed(Factor(0.1, 0.1), {.seed = 1});
  testing::expect_values(fixed(x, true), {25.5, 125.5, 255}, 1e-4);
  // factor 0.2 in value range [0, 1]: deltas uniform in [-0.2, 0.2], one per image.
  RandomBrightness layer(0.2, {.value_range = {0, 1}, .seed = 4});
  const Tensor half = Tensor::full({100, 2, 2, 1}, 0.5);
  const auto out = layer(half, true).to_vector<float>();
  double lowest = 1, highest = 0;
  for (std::int64_t b = 0; b < 100; ++b) {
    for (int p = 1; p < 4; ++p) EXPECT_EQ(out[b * 4 + p], out[b * 4]);
    EXPECT_GE(out[b * 4], 0.3 - 1e-6);
    EXPECT_LE(out[b * 4], 0.7 + 1e-6);
    lowest = std::min<double>(lowest, out[b * 4]), highest = std::max<double>(highest, out[b * 4]);
  }
  EXPECT_LT(lowest, 0.35);
  EXPECT_GT(highest, 0.65);
}

// Every random layer, seeded, for the shared checks.
std::vector<std::shared_ptr<ImagePreprocessingLayer>> seeded_augmentations(std::uint64_t seed) {
  return {std::make_shared<RandomCrop>(3, 4, seed),
          std::make_shared<RandomTranslation>(0.2, Factor(-0.3, 0.1), AffineAugmentationOptions{.seed = seed}),
          std::make_shared<RandomRotation>(0.1, AffineAugmentationOptions{.fill_mode = "wrap", .seed = seed}),
          std::make_shared<RandomZoom>(0.3, Factor(-0.2, 0.2),
                                       AffineAugmentationOptions{.interpolation = "nearest", .seed = seed}),
          std::make_shared<RandomContrast>(0.3, ColorAugmentationOptions{.seed = seed}),
          std::make_shared<RandomBrightness>(0.3, ColorAugmentationOptions{.seed = seed})};
}

TEST(ImageAugmentation, SeededReproducibleAndTheIdentityOutsideTraining) {
  const Tensor x = preprocessing_images(4, 5, 6, 2);
  auto first = seeded_augmentations(9), second = seeded_augmentations(9), other = seeded_augmentations(10);
  for (std::size_t i = 0; i < first.size(); ++i) {
    const std::string who = first[i]->type();
    if (who != "RandomCrop") {
      EXPECT_EQ((*first[i])(x, false).to_vector<float>(), x.to_vector<float>()) << who;
    }
    const auto a = (*first[i])(x, true).to_vector<float>();
    EXPECT_EQ((*second[i])(x, true).to_vector<float>(), a) << who;
    EXPECT_NE((*other[i])(x, true).to_vector<float>(), a) << who;
    EXPECT_NE((*first[i])(x, true).to_vector<float>(), a) << who << ": each call draws anew";
    EXPECT_EQ(first[i]->generators().size(), 1u) << who;
  }
}

TEST(ImageAugmentation, ConfigsRoundTrip) {
  const Tensor x = preprocessing_images(3, 5, 6, 2);
  for (const auto& layer : seeded_augmentations(4)) {
    const nlohmann::json config = layer->get_config();
    EXPECT_EQ(config.at("seed"), 4) << layer->type();
    const auto rebuilt = layer_from_config(layer->type(), config);
    EXPECT_EQ(rebuilt->get_config(), config) << layer->type();
    EXPECT_EQ((*rebuilt)(x, true).to_vector<float>(), (*layer)(x, true).to_vector<float>()) << layer->type();
  }
  for (const auto& layer : std::vector<std::shared_ptr<Layer>>{
           std::make_shared<Resizing>(2, 3, ResizingOptions{.interpolation = "nearest", .crop_to_aspect_ratio = true}),
           std::make_shared<CenterCrop>(3, 2)}) {
    const auto rebuilt = layer_from_config(layer->type(), layer->get_config());
    EXPECT_EQ(rebuilt->get_config(), layer->get_config());
    EXPECT_EQ((*rebuilt)(x).to_vector<float>(), (*layer)(x).to_vector<float>()) << layer->type();
  }
  // A model holding them saves and loads with them.
  Sequential model;
  model.add(std::make_shared<RandomRotation>(0.1, AffineAugmentationOptions{.seed = 3, .input_shape = {5, 6, 2}}));
  model.add(std::make_shared<Resizing>(4, 4));
  model.add(std::make_shared<Flatten>());
  const auto loaded = model_from_config(model_to_json(model));
  EXPECT_EQ(model_to_json(*loaded), model_to_json(model));
}

TEST(ImageAugmentation, KerasConfigs) {
  // As Keras 3's get_config writes them.
  const auto rotation = layer_from_config("RandomRotation", nlohmann::json::parse(R"({
      "name": "random_rotation", "trainable": true,
      "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
      "factor": [-0.1, 0.1], "data_format": "channels_last", "fill_mode": "constant", "fill_value": 0.0,
      "interpolation": "bilinear", "seed": 42})"));
  EXPECT_EQ(std::dynamic_pointer_cast<RandomRotation>(rotation)->range(), (std::pair<double, double>{-0.1, 0.1}));
  EXPECT_EQ(std::dynamic_pointer_cast<RandomRotation>(rotation)->options().fill_mode, "constant");
  const auto zoom = layer_from_config("RandomZoom", nlohmann::json::parse(R"({
      "name": "random_zoom", "trainable": true, "dtype": "float32", "height_factor": 0.2, "width_factor": null,
      "fill_mode": "reflect", "interpolation": "bilinear", "seed": null, "fill_value": 0.0,
      "data_format": "channels_last"})"));
  EXPECT_EQ(zoom->get_config().at("width_factor"), nullptr);
  const auto resizing = layer_from_config("Resizing", nlohmann::json::parse(R"({
      "name": "resizing", "trainable": true, "dtype": "float32", "height": 8, "width": 6,
      "interpolation": "bilinear", "data_format": "channels_last", "crop_to_aspect_ratio": false,
      "pad_to_aspect_ratio": false, "fill_mode": "constant", "fill_value": 0.0})"));
  resizing->build({10, 10, 3});
  EXPECT_EQ(resizing->output_shape(), (Shape{8, 6, 3}));
  const auto contrast = layer_from_config("RandomContrast", nlohmann::json::parse(R"({
      "name": "random_contrast", "trainable": true, "dtype": "float32", "factor": [0.2, 0.4],
      "value_range": [0, 1], "seed": 7})"));
  EXPECT_EQ(std::dynamic_pointer_cast<RandomContrast>(contrast)->range(), (std::pair<double, double>{0.8, 1.4}));
  EXPECT_NE(preprocessing_error([] {
              layer_from_config("RandomRotation", nlohmann::json::parse(R"({"name": "r", "factor": 0.1,
                  "data_format": "channels_first"})"));
            }).find("channels_first"),
            std::string::npos);
}

TEST(ImageAugmentation, BadArgumentsNameTheLayerAndArgument) {
  const auto expect_error = [](const std::function<void()>& fn, const std::string& layer, const std::string& arg) {
    const std::string e = preprocessing_error(fn);
    EXPECT_NE(e.find(layer), std::string::npos) << e;
    EXPECT_NE(e.find(arg), std::string::npos) << e;
  };
  expect_error([] { RandomRotation(1.5); }, "RandomRotation", "factor");
  expect_error([] { RandomRotation(0.1, {.fill_mode = "mirror"}); }, "RandomRotation", "fill_mode");
  expect_error([] { RandomTranslation(0.1, Factor(-2, 0)); }, "RandomTranslation", "width_factor");
  expect_error([] { RandomZoom(0.1, Factor(0.5, 1.5)); }, "RandomZoom", "width_factor");
  expect_error([] { RandomZoom(0.1, std::nullopt, {.interpolation = "bicubic"}); }, "RandomZoom", "interpolation");
  expect_error([] { RandomContrast(-0.1); }, "RandomContrast", "factor");
  expect_error([] { RandomContrast(0.1, {.value_range = {1, 0}}); }, "RandomContrast", "value_range");
  expect_error([] { RandomBrightness(Factor(0.5, 1.2)); }, "RandomBrightness", "factor");
  expect_error([] { Resizing(-1, 4); }, "Resizing", "height");
  expect_error([] { Resizing(4, 4, {.interpolation = "lanczos3"}); }, "Resizing", "interpolation");
  expect_error([] { CenterCrop(2, 0); }, "CenterCrop", "width");
  expect_error([] { RandomCrop(0, 3); }, "RandomCrop", "height");
  expect_error([] { RandomRotation(0.1)(Tensor::zeros({2, 3})); }, "RandomRotation", "images");
}

std::vector<testing::LayerGradCase> preprocessing_grad_cases() {
  return {
      {"resizing_bilinear", [] { return std::make_shared<Resizing>(4, 3); }, {2, 3, 5, 2}},
      {"resizing_cropped_nearest",
       [] {
         return std::make_shared<Resizing>(2, 2,
                                           ResizingOptions{.interpolation = "nearest", .crop_to_aspect_ratio = true});
       },
       {2, 3, 5, 2}},
      {"center_crop", [] { return std::make_shared<CenterCrop>(2, 3); }, {2, 4, 5, 2}},
      {"center_crop_smart_resize", [] { return std::make_shared<CenterCrop>(4, 3); }, {2, 3, 5, 2}},
      {"random_crop", [] { return std::make_shared<RandomCrop>(2, 3, 1); }, {3, 4, 5, 2}},
      {"random_translation_reflect",
       [] { return std::make_shared<RandomTranslation>(0.3, 0.3, AffineAugmentationOptions{.seed = 1}); },
       {2, 4, 5, 2}},
      {"random_rotation_constant",
       [] {
         return std::make_shared<RandomRotation>(0.2, AffineAugmentationOptions{.fill_mode = "constant", .seed = 1});
       },
       {2, 4, 5, 2}},
      {"random_zoom_wrap",
       [] { return std::make_shared<RandomZoom>(0.4, 0.3, AffineAugmentationOptions{.fill_mode = "wrap", .seed = 1}); },
       {2, 4, 5, 2}},
      {"random_contrast",
       [] {
         return std::make_shared<RandomContrast>(0.5, ColorAugmentationOptions{.value_range = {-50, 50}, .seed = 1});
       },
       {2, 3, 4, 2}},
      {"random_brightness",
       [] {
         return std::make_shared<RandomBrightness>(0.1, ColorAugmentationOptions{.value_range = {-50, 50}, .seed = 1});
       },
       {2, 3, 4, 2}},
  };
}

class PreprocessingGradient : public ::testing::TestWithParam<testing::LayerGradCase> {};

TEST_P(PreprocessingGradient, InputGradientMatchesFiniteDifferences) {
  testing::expect_layer_gradients_match(GetParam());
}

INSTANTIATE_TEST_SUITE_P(ImagePreprocessingLayers, PreprocessingGradient,
                         ::testing::ValuesIn(preprocessing_grad_cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace kiln
