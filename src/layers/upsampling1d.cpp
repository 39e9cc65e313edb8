#include "kiln/layers/upsampling1d.hpp"

#include <nlohmann/json.hpp>

#include "kiln/ops.hpp"
#include "layers/sequence_arguments.hpp"

namespace kiln::layers {

UpSampling1D::UpSampling1D(std::int64_t size, std::string name)
    : Layer(name.empty() ? unique_name("up_sampling1d") : name, "UpSampling1D"), size_(size) {
  if (size_ <= 0) throw Error(describe() + ": size must be positive, got " + std::to_string(size_));
}

Shape UpSampling1D::compute_output_shape(const Shape& in) const {
  layers_detail::check_sequence_sample(describe(), in);
  return {in[0] * size_, in[1]};
}

bool UpSampling1D::accepts(const Shape& built, const Shape& actual) const {
  return actual.size() == 2 && actual[1] == built[1];
}

nlohmann::json UpSampling1D::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["size"] = size_;
  return c;
}

// The nearest-neighbour upsampling of an image of height 1.
Tensor UpSampling1D::forward(const Tensor& x, bool) {
  const Tensor y = upsample2d_nearest(reshape(x, {x.size(0), 1, x.size(1), x.size(2)}), 1, size_);
  return reshape(y, {x.size(0), x.size(1) * size_, x.size(2)});
}

}  // namespace kiln::layers
