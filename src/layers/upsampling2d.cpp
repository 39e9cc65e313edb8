#include "kiln/layers/upsampling2d.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"
#include "layers/image_arguments.hpp"

namespace kiln::layers {

UpSampling2D::UpSampling2D(Size2 size, std::string interpolation, std::string name)
    : Layer(name.empty() ? unique_name("up_sampling2d") : name, "UpSampling2D"),
      size_(size),
      interpolation_(std::move(interpolation)) {
  if (size_.h <= 0 || size_.w <= 0) {
    throw Error(describe() + ": size must be positive, got (" + std::to_string(size_.h) + ", " +
                std::to_string(size_.w) + ")");
  }
  if (interpolation_ != "nearest") {
    throw Error(describe() + ": interpolation \"" + interpolation_ + "\" is not supported; expected \"nearest\"");
  }
}

Shape UpSampling2D::compute_output_shape(const Shape& in) const {
  layers_detail::check_image_sample(describe(), in);
  return {in[0] * size_.h, in[1] * size_.w, in[2]};
}

bool UpSampling2D::accepts(const Shape& built, const Shape& actual) const {
  return actual.size() == 3 && actual[2] == built[2];  // any height and width
}

nlohmann::json UpSampling2D::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["size"] = {size_.h, size_.w};
  c["interpolation"] = interpolation_;
  return c;
}

Tensor UpSampling2D::forward(const Tensor& x, bool) { return upsample2d_nearest(x, size_.h, size_.w); }

}  // namespace kiln::layers
