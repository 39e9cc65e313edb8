#include "kiln/layers/zero_padding.hpp"

#include <nlohmann/json.hpp>

#include "layers/image_arguments.hpp"
#include "layers/sequence_arguments.hpp"

namespace kiln::layers {

ZeroPadding1D::ZeroPadding1D(Margins1 padding, std::string name)
    : Layer(name.empty() ? unique_name("zero_padding1d") : name, "ZeroPadding1D"), padding_(padding) {
  layers_detail::check_non_negative(describe(), "padding", {padding_.left, padding_.right});
}

Shape ZeroPadding1D::compute_output_shape(const Shape& in) const {
  layers_detail::check_sequence_sample(describe(), in);
  return {in[0] + padding_.left + padding_.right, in[1]};
}

bool ZeroPadding1D::accepts(const Shape& built, const Shape& actual) const {
  return actual.size() == 2 && actual[1] == built[1];
}

nlohmann::json ZeroPadding1D::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["padding"] = {padding_.left, padding_.right};
  return c;
}

Tensor ZeroPadding1D::forward(const Tensor& x, bool) {
  return layers_detail::zero_pad_axis(x, 1, padding_.left, padding_.right);
}

ZeroPadding2D::ZeroPadding2D(Margins2 padding, std::string data_format, std::string name)
    : Layer(name.empty() ? unique_name("zero_padding2d") : name, "ZeroPadding2D"),
      padding_(padding),
      data_format_(std::move(data_format)) {
  layers_detail::check_non_negative(describe(), "padding",
                                    {padding_.top, padding_.bottom, padding_.left, padding_.right});
  layers_detail::check_data_format(describe(), data_format_);
}

Shape ZeroPadding2D::compute_output_shape(const Shape& in) const {
  layers_detail::check_image_sample(describe(), in);
  return {in[0] + padding_.top + padding_.bottom, in[1] + padding_.left + padding_.right, in[2]};
}

bool ZeroPadding2D::accepts(const Shape& built, const Shape& actual) const {
  return actual.size() == 3 && actual[2] == built[2];
}

nlohmann::json ZeroPadding2D::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["padding"] = {{padding_.top, padding_.bottom}, {padding_.left, padding_.right}};
  c["data_format"] = data_format_;
  return c;
}

Tensor ZeroPadding2D::forward(const Tensor& x, bool) {
  const Tensor rows = layers_detail::zero_pad_axis(x, 1, padding_.top, padding_.bottom);
  return layers_detail::zero_pad_axis(rows, 2, padding_.left, padding_.right);
}

}  // namespace kiln::layers
