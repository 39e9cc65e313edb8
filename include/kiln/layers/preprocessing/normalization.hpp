// Normalization: Keras's preprocessing layer — shifts and scales inputs to zero mean and unit
// variance with statistics learned by adapt() (or given):
//   y = (x - mean) / max(sqrt(variance), 1e-7)        (invert: y = mean + x * max(sqrt(variance), 1e-7))
// axis -1 keeps one mean and variance per feature (the last axis); no axis, one for all.
//
//   kiln::layers::Normalization norm;
//   norm.adapt(train);            // a Pipeline or Dataset (its inputs) or a Tensor
//   model.add(norm);             // then the model sees standardised features
//
// mean and variance are non-trainable weights, saved with the model. The variance is the
// population variance (divided by n), as Keras computes it.
#pragma once
#include <optional>
#include <vector>

#include "kiln/data/pipeline.hpp"
#include "kiln/layers/layer.hpp"

namespace kiln::layers {

struct NormalizationOptions {
  std::optional<int> axis = -1;  // -1 (per feature) or nullopt (one mean and variance)
  std::vector<double> mean;      // given statistics (with variance), instead of adapt()
  std::vector<double> variance;
  bool invert = false;
  Shape input_shape = {};
  std::string name;
};

class Normalization : public Layer {
 public:
  explicit Normalization(NormalizationOptions options = {});

  // Learns mean and variance from every sample (in double precision, batch by batch, so the
  // data need not fit in memory), then builds the layer for the samples' shape. Adapting
  // again replaces the statistics.
  void adapt(const data::Pipeline& data);
  void adapt(const Tensor& data);

  Tensor mean() const;  // [features] (or [1] without an axis)
  Tensor variance() const;
  const NormalizationOptions& options() const { return options_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;

 private:
  std::int64_t statistics_size(const Shape& sample_shape) const;
  NormalizationOptions options_;
  Tensor mean_, variance_;
};

}  // namespace kiln::layers
