#include "kiln/layers/cropping.hpp"

#include <nlohmann/json.hpp>

#include "kiln/ops.hpp"
#include "layers/image_arguments.hpp"
#include "layers/sequence_arguments.hpp"

namespace kiln::layers {
namespace {

std::int64_t cropped(const std::string& who, const char* axis, std::int64_t size, std::int64_t before,
                     std::int64_t after) {
  if (before + after >= size) {
    throw Error(who + ": cropping " + std::to_string(before) + " + " + std::to_string(after) + " leaves nothing of " +
                axis + " " + std::to_string(size));
  }
  return size - before - after;
}

}  // namespace

Cropping1D::Cropping1D(Margins1 cropping, std::string name)
    : Layer(name.empty() ? unique_name("cropping1d") : name, "Cropping1D"), cropping_(cropping) {
  layers_detail::check_non_negative(describe(), "cropping", {cropping_.left, cropping_.right});
}

Shape Cropping1D::compute_output_shape(const Shape& in) const {
  layers_detail::check_sequence_sample(describe(), in);
  return {cropped(describe(), "steps", in[0], cropping_.left, cropping_.right), in[1]};
}

bool Cropping1D::accepts(const Shape& built, const Shape& actual) const {
  return actual.size() == 2 && actual[1] == built[1] && actual[0] > cropping_.left + cropping_.right;
}

nlohmann::json Cropping1D::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["cropping"] = {cropping_.left, cropping_.right};
  return c;
}

Tensor Cropping1D::forward(const Tensor& x, bool) {
  return narrow(x, 1, cropping_.left, x.size(1) - cropping_.left - cropping_.right);
}

Cropping2D::Cropping2D(Margins2 cropping, std::string data_format, std::string name)
    : Layer(name.empty() ? unique_name("cropping2d") : name, "Cropping2D"),
      cropping_(cropping),
      data_format_(std::move(data_format)) {
  layers_detail::check_non_negative(describe(), "cropping",
                                    {cropping_.top, cropping_.bottom, cropping_.left, cropping_.right});
  layers_detail::check_data_format(describe(), data_format_);
}

Shape Cropping2D::compute_output_shape(const Shape& in) const {
  layers_detail::check_image_sample(describe(), in);
  return {cropped(describe(), "height", in[0], cropping_.top, cropping_.bottom),
          cropped(describe(), "width", in[1], cropping_.left, cropping_.right), in[2]};
}

bool Cropping2D::accepts(const Shape& built, const Shape& actual) const {
  return actual.size() == 3 && actual[2] == built[2] && actual[0] > cropping_.top + cropping_.bottom &&
         actual[1] > cropping_.left + cropping_.right;
}

nlohmann::json Cropping2D::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["cropping"] = {{cropping_.top, cropping_.bottom}, {cropping_.left, cropping_.right}};
  c["data_format"] = data_format_;
  return c;
}

Tensor Cropping2D::forward(const Tensor& x, bool) {
  const Tensor rows = narrow(x, 1, cropping_.top, x.size(1) - cropping_.top - cropping_.bottom);
  return narrow(rows, 2, cropping_.left, x.size(2) - cropping_.left - cropping_.right);
}

}  // namespace kiln::layers
