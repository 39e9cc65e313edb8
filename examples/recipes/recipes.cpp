#include "recipes.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

#include "kiln/ops/flip.hpp"

namespace recipes {

using namespace kiln::layers;

Recipe named(const std::string& name) {
  Recipe r;
  r.name = name;
  if (name == "fast") return r;
  if (name == "best") {
    // Twice the depth and twice the width of fast, twice the epochs, and translations of up to
    // a pixel, which a longer run can use; the classifier straight after Flatten.
    r.widths = {32, 64, 128};
    r.extra_convs = 1;
    r.hidden = 0;
    r.dropout = 0;
    r.epochs = 18;
    r.translate_pixels = 1;
    return r;
  }
  throw kiln::Error("recipe: '" + name + "' is not a recipe (expected fast or best)");
}

namespace {

double number(const std::string& field, const std::string& text) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !std::isfinite(v)) {
    throw kiln::Error("recipe: " + field + " must be a number, got '" + text + "'");
  }
  return v;
}

bool truth(const std::string& field, const std::string& text) {
  if (text == "1" || text == "true") return true;
  if (text == "0" || text == "false") return false;
  throw kiln::Error("recipe: " + field + " must be true or false, got '" + text + "'");
}

std::string join(const std::vector<std::int64_t>& v) {
  std::ostringstream s;
  for (std::size_t i = 0; i < v.size(); ++i) s << (i ? "," : "") << v[i];
  return s.str();
}

}  // namespace

Recipe with_changes(Recipe r, const std::map<std::string, std::string>& changes) {
  for (const auto& [field, text] : changes) {
    if (field == "widths") {
      r.widths.clear();
      std::stringstream in(text);
      for (std::string part; std::getline(in, part, ',');) {
        const double w = number(field, part);
        if (w < 1 || w != std::floor(w))
          throw kiln::Error("recipe: widths must be whole numbers >= 1, got '" + text + "'");
        r.widths.push_back(static_cast<std::int64_t>(w));
      }
      if (r.widths.empty()) throw kiln::Error("recipe: widths is empty");
    } else if (field == "extra_convs") {
      r.extra_convs = static_cast<int>(number(field, text));
    } else if (field == "epochs") {
      r.epochs = static_cast<int>(number(field, text));
    } else if (field == "batch_size") {
      r.batch_size = static_cast<std::int64_t>(number(field, text));
    } else if (field == "learning_rate") {
      r.learning_rate = number(field, text);
    } else if (field == "warmup_epochs") {
      r.warmup_epochs = number(field, text);
    } else if (field == "weight_decay") {
      r.weight_decay = number(field, text);
    } else if (field == "ema_momentum") {
      r.ema_momentum = number(field, text);
    } else if (field == "translate_pixels") {
      r.translate_pixels = number(field, text);
    } else if (field == "flip") {
      r.flip = truth(field, text);
    } else if (field == "test_time_flip") {
      r.test_time_flip = truth(field, text);
    } else if (field == "hidden") {
      r.hidden = static_cast<std::int64_t>(number(field, text));
      if (r.hidden < 0) throw kiln::Error("recipe: hidden must be >= 0, got '" + text + "'");
    } else if (field == "dropout") {
      r.dropout = number(field, text);
    } else if (field == "precision") {
      if (text != "float32" && text != "bf16")
        throw kiln::Error("recipe: precision must be float32 or bf16, got '" + text + "'");
      r.precision = text;
    } else {
      throw kiln::Error("recipe: no field '" + field + "'");
    }
  }
  if (r.epochs < 1) throw kiln::Error("recipe: epochs must be >= 1, got " + std::to_string(r.epochs));
  if (r.batch_size < 1) throw kiln::Error("recipe: batch_size must be >= 1, got " + std::to_string(r.batch_size));
  if (r.extra_convs < 0) throw kiln::Error("recipe: extra_convs must be >= 0, got " + std::to_string(r.extra_convs));
  return r;
}

std::string describe(const Recipe& r) {
  std::ostringstream s;
  s << "recipe " << r.name << ": widths " << join(r.widths) << " (+" << r.extra_convs << " convs a stage), " << r.epochs
    << " epochs, batch " << r.batch_size << ", AdamW lr " << r.learning_rate << " wd " << r.weight_decay << " warmup "
    << r.warmup_epochs << " ep, ema " << r.ema_momentum << ", translate " << r.translate_pixels << " px, flip "
    << r.flip << ", tta flip " << r.test_time_flip << ", hidden " << r.hidden << ", dropout " << r.dropout << ", "
    << r.precision;
  return s.str();
}

kiln::Sequential build_model(const Recipe& r, const kiln::Shape& input_shape, std::int64_t classes) {
  if (input_shape.size() != 3) {
    throw kiln::Error("recipe " + r.name + ": takes images [height, width, channels], got samples of shape " +
                      kiln::shape_str(input_shape));
  }
  // The layers made here take the recipe's precision; the global policy is restored after.
  const auto policy = kiln::mixed_precision::global_policy();
  kiln::mixed_precision::set_global_policy(r.precision == "bf16" ? "mixed_bfloat16" : "float32");
  kiln::Sequential model;
  const auto height = input_shape[0], width = input_shape[1];
  // Augmentation: active in fit() only.
  if (r.flip) model.add(RandomFlip("horizontal", std::nullopt, input_shape));
  if (r.translate_pixels > 0) {
    AffineAugmentationOptions o{.fill_mode = "constant", .interpolation = "nearest"};
    if (!r.flip) o.input_shape = input_shape;
    model.add(RandomTranslation(r.translate_pixels / static_cast<double>(height),
                                r.translate_pixels / static_cast<double>(width), o));
  }
  bool first = !r.flip && r.translate_pixels <= 0;
  auto conv = [&](std::int64_t filters) {
    Conv2DOptions o{.padding = "same", .use_bias = false};
    if (first) o.input_shape = input_shape;
    first = false;
    model.add(Conv2D(filters, {3, 3}, o));
  };
  auto normalize = [&] {
    model.add(BatchNormalization({.momentum = 0.9}));
    model.add(Activation("relu"));
  };
  for (const auto filters : r.widths) {
    conv(filters);
    model.add(MaxPooling2D({2, 2}));
    normalize();
    for (int i = 0; i < r.extra_convs; ++i) {
      conv(filters);
      normalize();
    }
  }
  model.add(Flatten());
  if (r.hidden > 0) model.add(Dense(r.hidden, "relu"));
  if (r.dropout > 0) model.add(Dropout(r.dropout));
  model.add(Dense(classes, "softmax"));
  kiln::mixed_precision::set_global_policy(policy);
  return model;
}

void compile(kiln::Model& model, const Recipe& r, std::int64_t steps_per_epoch) {
  const double total = static_cast<double>(r.epochs * steps_per_epoch);
  const double warmup = std::min(r.warmup_epochs * static_cast<double>(steps_per_epoch), total - 1);
  kiln::optim::AdamWOptions o{
      .learning_rate =
          kiln::optim::schedules::CosineDecay(r.learning_rate / 10, total - warmup, 0.0, r.learning_rate, warmup),
      .weight_decay = r.weight_decay,
  };
  if (r.ema_momentum > 0) {
    o.use_ema = true;
    o.ema_momentum = r.ema_momentum;
  }
  model.compile(kiln::optim::AdamW(o), "sparse_categorical_crossentropy", {"accuracy"});
}

namespace {

// The predictions for the mirror images of x.
kiln::Tensor predict_mirrored(kiln::Model& model, const kiln::Tensor& x) {
  const std::vector<std::uint8_t> mirror(static_cast<std::size_t>(x.size(0)), kiln::kFlipHorizontal);
  return model.predict(kiln::flip_images(x, mirror), {.batch_size = 500});
}

}  // namespace

kiln::Tensor predict(kiln::Model& model, const Recipe& r, const kiln::Tensor& x) {
  const kiln::Tensor p = model.predict(x, {.batch_size = 500});
  return r.test_time_flip ? (p + predict_mirrored(model, x)) * 0.5 : p;
}

namespace {

double accuracy(const kiln::Tensor& probabilities, const kiln::Tensor& labels) {
  return kiln::metrics::accuracy_score(kiln::metrics::to_labels(labels),
                                       kiln::metrics::predicted_labels(probabilities));
}

}  // namespace

Outcome run(const Recipe& r, const kiln::datasets::TrainTest& data, const RunOptions& options) {
  kiln::manual_seed(options.seed);
  const auto& images = data.train.images;
  const kiln::Shape input_shape = {images.size(1), images.size(2), images.size(3)};
  const auto labels = data.train.labels.to(kiln::DType::Int64).to_vector<std::int64_t>();
  const std::int64_t classes = labels.empty() ? 0 : *std::max_element(labels.begin(), labels.end()) + 1;
  auto model = build_model(r, input_shape, classes);
  const std::int64_t steps = (images.size(0) + r.batch_size - 1) / r.batch_size;
  compile(model, r, steps);
  const auto train = kiln::data::Dataset(images, data.train.labels).rescale(1.0 / 255);

  Outcome out;
  const auto start = std::chrono::steady_clock::now();
  out.history = model.fit(train, {.epochs = r.epochs,
                                  .batch_size = r.batch_size,
                                  .verbose = options.verbose,
                                  .seed = options.seed,
                                  .callbacks = options.callbacks});
  out.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // The plain predictions, then (with test-time augmentation) the mirror images' averaged in.
  const kiln::Tensor test = kiln::to_float(data.test.images, 1.0 / 255);
  const kiln::Tensor plain = model.predict(test, {.batch_size = 500});
  out.plain_test_accuracy = accuracy(plain, data.test.labels);
  out.test_accuracy = out.plain_test_accuracy;
  if (r.test_time_flip) out.test_accuracy = accuracy((plain + predict_mirrored(model, test)) * 0.5, data.test.labels);
  return out;
}

}  // namespace recipes
