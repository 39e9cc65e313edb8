#include "kiln/layers/preprocessing/normalization.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {
namespace {

// Keras's backend.epsilon(): the smallest standard deviation divided by.
constexpr double kEpsilon = 1e-7;

void write(Tensor& weight, const std::vector<double>& values) {
  weight.copy_(Tensor::from_vector(values, weight.shape()).to(weight.dtype()));
}

}  // namespace

Normalization::Normalization(NormalizationOptions options)
    : Layer(options.name.empty() ? unique_name("normalization") : options.name, "Normalization"),
      options_(std::move(options)) {
  if (options_.axis && *options_.axis != -1) {
    throw Error(describe() + ": axis must be -1 (per feature) or none (one mean for all), got " +
                std::to_string(*options_.axis));
  }
  if (options_.mean.size() != options_.variance.size()) {
    throw Error(describe() + ": mean and variance must be given together and of one length, got " +
                std::to_string(options_.mean.size()) + " and " + std::to_string(options_.variance.size()) + " values");
  }
  for (double v : options_.variance) {
    if (!(v >= 0)) throw Error(describe() + ": variances must be >= 0, got " + std::to_string(v));
  }
  set_declared_input_shape(options_.input_shape);
}

std::int64_t Normalization::statistics_size(const Shape& sample) const {
  if (!options_.axis) return 1;
  if (sample.empty()) throw Error(describe() + ": axis -1 needs samples with a feature axis, got scalars");
  return sample.back();
}

Shape Normalization::compute_output_shape(const Shape& in) const {
  const std::int64_t k = statistics_size(in);
  if (!options_.mean.empty() && static_cast<std::int64_t>(options_.mean.size()) != k) {
    throw Error(describe() + ": given " + std::to_string(options_.mean.size()) + " means, but inputs of shape " +
                shape_str(in) + " have " + std::to_string(k) + " features");
  }
  return in;
}

void Normalization::build_weights(const Shape& in, Generator& gen) {
  const std::int64_t k = statistics_size(in);
  mean_ = add_weight("mean", {k}, "zeros", gen, /*trainable=*/false);
  variance_ = add_weight("variance", {k}, "ones", gen, /*trainable=*/false);
  if (!options_.mean.empty()) {
    write(mean_, options_.mean);
    write(variance_, options_.variance);
  }
}

Tensor Normalization::forward(const Tensor& x, bool) {
  const Tensor stddev = maximum(sqrt(variance_), Tensor::scalar(kEpsilon, variance_.dtype()));
  return options_.invert ? add(mean_, mul(x, stddev)) : div(sub(x, mean_), stddev);
}

void Normalization::adapt(const Tensor& data) { adapt(data::Pipeline(data::Dataset(data))); }

void Normalization::adapt(const data::Pipeline& pipeline) {
  if (pipeline.cardinality() == data::INFINITE_CARDINALITY)
    throw Error(describe() + ": adapt: the data repeats forever");
  const data::Pipeline batches = pipeline.batched() ? pipeline : pipeline.batch(1024);
  // Chan et al.'s pairwise update: each batch's count, mean and squared deviations merged in.
  std::vector<double> mean, m2;
  double count = 0;
  Shape sample;
  auto it = batches.iterate();
  while (auto batch = it.next()) {
    const Tensor& x = batch->x;
    if (x.ndim() < 1) throw Error(describe() + ": adapt: expected batches [batch, ...], got a scalar");
    const Shape s(x.shape().begin() + 1, x.shape().end());
    if (mean.empty()) {
      sample = s;
      const auto k = static_cast<std::size_t>(statistics_size(s));
      mean.assign(k, 0.0), m2.assign(k, 0.0);
    } else if (s != sample) {
      throw Error(describe() + ": adapt: samples of shape " + shape_str(s) + " after samples of shape " +
                  shape_str(sample));
    }
    const auto values = x.to_vector<double>();
    const std::size_t k = mean.size();
    const std::size_t rows = values.size() / k;
    std::vector<double> bmean(k, 0.0), bm2(k, 0.0);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t j = 0; j < k; ++j) bmean[j] += values[r * k + j];
    for (auto& v : bmean) v /= double(rows);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t j = 0; j < k; ++j) bm2[j] += (values[r * k + j] - bmean[j]) * (values[r * k + j] - bmean[j]);
    const double n = double(rows), total = count + n;
    for (std::size_t j = 0; j < k; ++j) {
      const double delta = bmean[j] - mean[j];
      mean[j] += delta * n / total;
      m2[j] += bm2[j] + delta * delta * count * n / total;
    }
    count = total;
  }
  if (count == 0) throw Error(describe() + ": adapt: the data is empty");
  if (built() && statistics_size(input_shape()) != static_cast<std::int64_t>(mean.size())) {
    throw Error(describe() + ": adapt: the layer takes " + std::to_string(statistics_size(input_shape())) +
                " features, the data has " + std::to_string(mean.size()));
  }
  if (!built()) {
    // Declared too, so that the config (and a model file) rebuilds the layer with its weights.
    set_declared_input_shape(sample);
    build(sample);
  }
  std::vector<double> variance(m2.size());
  for (std::size_t j = 0; j < m2.size(); ++j) variance[j] = m2[j] / count;
  write(mean_, mean);
  write(variance_, variance);
}

Tensor Normalization::mean() const {
  input_shape();  // throws, naming the layer, when it is not built
  return mean_;
}

Tensor Normalization::variance() const {
  input_shape();
  return variance_;
}

nlohmann::json Normalization::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axis"] = options_.axis ? nlohmann::json(*options_.axis) : nlohmann::json(nullptr);
  c["mean"] = options_.mean.empty() ? nlohmann::json(nullptr) : nlohmann::json(options_.mean);
  c["variance"] = options_.variance.empty() ? nlohmann::json(nullptr) : nlohmann::json(options_.variance);
  c["invert"] = options_.invert;
  return c;
}

}  // namespace kiln::layers
