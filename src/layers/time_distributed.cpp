#include "kiln/layers/time_distributed.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {

TimeDistributed::TimeDistributed(std::shared_ptr<Layer> layer, std::string name)
    : Layer(name.empty() ? unique_name("time_distributed") : name, "TimeDistributed"), layer_(std::move(layer)) {
  if (!layer_) throw Error(describe() + ": layer is null");
}

Shape TimeDistributed::compute_output_shape(const Shape& in) const {
  if (in.size() < 2) {
    throw Error(describe() +
                ": expected inputs of shape [batch, time, ...] with at least one axis after time, got [batch" +
                (in.empty() ? std::string("]") : ", " + shape_str(in).substr(1)));
  }
  Shape out{in[0]};
  const Shape step = layer_->compute_output_shape(Shape(in.begin() + 1, in.end()));
  out.insert(out.end(), step.begin(), step.end());
  return out;
}

bool TimeDistributed::accepts(const Shape& built, const Shape& actual) const {
  return actual.size() == built.size() && std::equal(built.begin() + 1, built.end(), actual.begin() + 1);
}

void TimeDistributed::build_weights(const Shape& in, Generator&) {
  if (!layer_->built()) {
    layer_->set_dtype(dtype());
    layer_->build(Shape(in.begin() + 1, in.end()));
  }
  for (const auto& w : layer_->weights()) track_weight(layer_->name() + "/" + w.name, w.value, w.trainable);
}

// One call of the layer on every step of every sample: [batch * time, ...].
Tensor TimeDistributed::forward(const Tensor& x, bool training) {
  const std::int64_t batch = x.size(0), time = x.size(1);
  Shape steps(x.shape().begin() + 1, x.shape().end());
  steps[0] = batch * time;
  const Tensor y = (*layer_)(reshape(x, steps), training);
  Shape out(y.shape().begin(), y.shape().end());
  out[0] = time;
  out.insert(out.begin(), batch);
  return reshape(y, out);
}

nlohmann::json TimeDistributed::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["layer"] = {{"module", "keras.layers"},
                {"class_name", layer_->type()},
                {"config", layer_->get_config()},
                {"registered_name", nullptr}};
  return c;
}

}  // namespace kiln::layers
