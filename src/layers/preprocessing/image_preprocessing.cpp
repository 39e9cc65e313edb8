#include "kiln/layers/preprocessing/image_preprocessing.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "kiln/error.hpp"

namespace kiln::layers {

namespace {
std::string number_text(double v) {
  nlohmann::json j = v;
  return j.dump();
}
}  // namespace

ImagePreprocessingLayer::ImagePreprocessingLayer(std::string name, std::string type, bool random,
                                                 std::optional<std::uint64_t> seed)
    : Layer(std::move(name), std::move(type)), random_(random), seed_(seed) {}

Tensor ImagePreprocessingLayer::operator()(const Tensor& x, bool training) {
  if (!x.defined() || x.ndim() != 3) return Layer::operator()(x, training);
  // One image: Keras's transform_single_image, a batch of one without its batch axis.
  Tensor y = Layer::operator()(x.reshape({1, x.size(0), x.size(1), x.size(2)}), training);
  return y.reshape(Shape(y.shape().begin() + 1, y.shape().end()));
}

void ImagePreprocessingLayer::check_images(const Shape& in) const {
  if (in.size() != 3 || in[0] < 1 || in[1] < 1 || in[2] < 1) {
    throw Error(describe() + ": expected images [height, width, channels], got samples of shape " + shape_str(in));
  }
}

Shape ImagePreprocessingLayer::compute_output_shape(const Shape& in) const {
  check_images(in);
  return in;
}

bool ImagePreprocessingLayer::accepts(const Shape& built, const Shape& actual) const {
  return actual.size() == 3 && built.size() == 3 && actual[2] == built[2] && actual[0] > 0 && actual[1] > 0;
}

void ImagePreprocessingLayer::build_weights(const Shape&, Generator& generator) {
  if (random_) generator_.seed_with(seed_ ? *seed_ : generator.next_u64());
}

std::vector<Generator*> ImagePreprocessingLayer::generators() {
  if (!random_) return {};
  return {&generator_};
}

nlohmann::json ImagePreprocessingLayer::image_config() const {
  nlohmann::json c = Layer::get_config();
  if (random_) c["seed"] = seed_ ? nlohmann::json(*seed_) : nlohmann::json(nullptr);
  c["data_format"] = "channels_last";
  return c;
}

void ImagePreprocessingLayer::check_range(const std::string& argument, double lower, double upper, double low,
                                          double high) const {
  if (!std::isfinite(lower) || !std::isfinite(upper) || lower < low || upper > high || lower > upper) {
    throw Error(describe() + ": " + argument + " must be a number or a pair (lower <= upper) in [" + number_text(low) +
                ", " + number_text(high) + "], got [" + number_text(lower) + ", " + number_text(upper) + "]");
  }
}

std::pair<double, double> ImagePreprocessingLayer::symmetric_range(const std::string& argument, const Factor& factor,
                                                                   double low, double high) const {
  const auto& v = factor.values;
  if (v.size() == 1) {
    check_range(argument, -std::abs(v[0]), std::abs(v[0]), low, high);
    return {-std::abs(v[0]), std::abs(v[0])};
  }
  if (v.size() != 2) {
    throw Error(describe() + ": " + argument + " must be one number or two, got " + std::to_string(v.size()));
  }
  const double lower = std::min(v[0], v[1]), upper = std::max(v[0], v[1]);
  check_range(argument, lower, upper, low, high);
  return {lower, upper};
}

nlohmann::json factor_to_json(const Factor& factor) {
  if (factor.values.size() == 1) return factor.values[0];
  return factor.values;
}

}  // namespace kiln::layers
