// Time-to-accuracy recipes: complete training setups for small image classifiers (28x28x1
// Fashion-MNIST, 32x32x3 CIFAR-10, or an image folder), written with Kiln's public API only so
// that they can be read and changed. `kiln train --recipe fast|best` runs them, and so does
// examples/time_to_accuracy.cpp.
//
// What a recipe is made of, and why (the tricks airbench made public, sized for two CPU cores):
//  - a VGG-like network of `widths.size()` stages, each Conv2D(3x3, same) -> MaxPool(2) ->
//    BatchNormalization -> ReLU (pooling before the normalization: it normalizes a quarter of
//    the values), then more Conv -> BN -> ReLU blocks at that resolution, then Flatten, an
//    optional hidden Dense -> ReLU layer, Dropout and the last Dense layer;
//  - augmentation as layers (active in training only): horizontal flips and translations of a
//    few pixels;
//  - AdamW with decoupled weight decay, a linear warm-up then cosine decay to zero, per step;
//  - optionally an exponential moving average of the weights (swapped in at the end);
//  - test-time augmentation: the average of the softmax of each image and of its mirror image.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kiln/kiln.hpp"

namespace recipes {

struct Recipe {
  std::string name;
  std::vector<std::int64_t> widths = {16, 32, 64};  // filters of each stage
  int extra_convs = 0;                              // Conv -> BN -> ReLU blocks after each stage's first
  int epochs = 9;
  std::int64_t batch_size = 128;
  double learning_rate = 3e-3;     // the peak, reached after the warm-up
  double warmup_epochs = 1.0;      // linear warm-up from learning_rate / 10
  double weight_decay = 5e-4;      // AdamW's (decoupled: w -= lr * weight_decay * w)
  double ema_momentum = 0.0;       // 0: no moving average of the weights
  double translate_pixels = 0.0;   // RandomTranslation by up to this many pixels (0: none)
  bool flip = true;                // RandomFlip("horizontal") in training
  bool test_time_flip = true;      // average the predictions of each test image and its mirror
  std::int64_t hidden = 256;       // units of a Dense -> ReLU layer after Flatten (0: none)
  double dropout = 0.2;            // before the last Dense layer
  std::string precision = "bf16";  // or "float32" (bf16: kiln::mixed_precision's mixed_bfloat16)
};

// The two recipes: "fast" (the least time to 93% on Fashion-MNIST) and "best" (94%).
Recipe named(const std::string& name);
// A recipe with some of its fields changed: {"epochs", "12"}, {"widths", "32,64,128"}, ...
// Unknown fields and unreadable values are kiln::Errors naming them.
Recipe with_changes(Recipe recipe, const std::map<std::string, std::string>& changes);
// The recipe's settings as one line of text (for logs and run folders).
std::string describe(const Recipe& recipe);

// The recipe's model for images of `input_shape` (float, pixels / 255) and `classes`
// classes; its last layer gives probabilities.
kiln::Sequential build_model(const Recipe& recipe, const kiln::Shape& input_shape, std::int64_t classes);
// Compiles `model` with the recipe's optimizer and schedule (for `steps_per_epoch` steps an
// epoch), sparse categorical cross-entropy and accuracy.
void compile(kiln::Model& model, const Recipe& recipe, std::int64_t steps_per_epoch);

// Class probabilities for the model inputs `x` (float [n, H, W, C], pixels / 255), with the
// recipe's test-time augmentation.
kiln::Tensor predict(kiln::Model& model, const Recipe& recipe, const kiln::Tensor& x);

struct Outcome {
  double test_accuracy = 0;        // with test-time augmentation when the recipe has it
  double plain_test_accuracy = 0;  // without it
  double train_seconds = 0;        // fit() alone
  kiln::History history;
};

struct RunOptions {
  std::uint64_t seed = 1;
  int verbose = 2;
  std::vector<std::shared_ptr<kiln::Callback>> callbacks;
};

// Builds, trains and scores the recipe's model on `data` (images uint8 [n, H, W, C], labels
// class ids).
Outcome run(const Recipe& recipe, const kiln::datasets::TrainTest& data, const RunOptions& options = {});

}  // namespace recipes
