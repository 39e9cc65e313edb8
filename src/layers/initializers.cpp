#include "kiln/initializers.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "kiln/error.hpp"

namespace kiln {
namespace {

const std::set<std::string>& known_names() {
  static const std::set<std::string> names = {
      "glorot_uniform", "glorot_normal", "he_uniform",     "he_normal",     "lecun_uniform",
      "lecun_normal",   "zeros",         "ones",           "constant",      "random_uniform",
      "random_normal",  "orthogonal"};
  return names;
}

struct Fans {
  double in, out;
};

Fans compute_fans(const Shape& shape) {
  if (shape.empty()) return {1, 1};
  if (shape.size() == 1) return {double(shape[0]), double(shape[0])};
  if (shape.size() == 2) return {double(shape[0]), double(shape[1])};
  // Convolution kernels: [spatial..., in, out].
  double receptive = 1;
  for (std::size_t i = 0; i + 2 < shape.size(); ++i) receptive *= double(shape[i]);
  return {receptive * double(shape[shape.size() - 2]), receptive * double(shape.back())};
}

// Keras draws its "normal" variance-scaling values from a normal truncated at
// two standard deviations, rescaled so the variance is still `variance`.
double truncated_normal(Generator& gen, double stddev) {
  constexpr double kTruncationCorrection = 0.87962566103423978;
  const double s = stddev / kTruncationCorrection;
  for (;;) {
    const double v = gen.normal();
    if (std::abs(v) <= 2.0) return v * s;
  }
}

// Keras's Orthogonal: a [rows, cols] matrix (rows = product of all but the
// last axis) from the QR decomposition of a Gaussian [max, min] matrix, signs
// fixed so that R has a positive diagonal, transposed when rows < cols.
// Gram-Schmidt (applied twice, for accuracy) gives exactly that Q.
std::vector<double> orthogonal_values(const Shape& shape, double gain, Generator& gen) {
  std::int64_t rows = 1;
  for (std::size_t i = 0; i + 1 < shape.size(); ++i) rows *= shape[i];
  const std::int64_t cols = shape.empty() ? 1 : shape.back();
  const std::int64_t n = std::max(rows, cols), k = std::min(rows, cols);
  std::vector<double> q(static_cast<std::size_t>(n * k));  // column j at q[j * n, (j + 1) * n)
  for (auto& v : q) v = gen.normal();
  for (std::int64_t j = 0; j < k; ++j) {
    double* v = q.data() + j * n;
    for (int pass = 0; pass < 2; ++pass) {
      for (std::int64_t i = 0; i < j; ++i) {
        const double* u = q.data() + i * n;
        double dot = 0;
        for (std::int64_t r = 0; r < n; ++r) dot += u[r] * v[r];
        for (std::int64_t r = 0; r < n; ++r) v[r] -= dot * u[r];
      }
    }
    double norm = 0;
    for (std::int64_t r = 0; r < n; ++r) norm += v[r] * v[r];
    norm = std::sqrt(norm);
    for (std::int64_t r = 0; r < n; ++r) v[r] /= norm;
  }
  std::vector<double> out(static_cast<std::size_t>(rows * cols));
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) {
      // Q is [n, k]; the result is Q itself when rows >= cols, else Q^T.
      out[r * cols + c] = gain * (rows >= cols ? q[c * n + r] : q[r * n + c]);
    }
  }
  return out;
}

}  // namespace

Initializer::Initializer(std::string name) : name_(std::move(name)) {
  if (!known_names().count(name_)) {
    std::string list;
    for (const auto& n : known_names()) list += (list.empty() ? "" : ", ") + n;
    throw Error("unknown initializer \"" + name_ + "\"; expected one of: " + list);
  }
  if (name_ == "random_uniform") a_ = -0.05, b_ = 0.05;
  if (name_ == "random_normal") a_ = 0.0, b_ = 0.05;
  if (name_ == "ones" || name_ == "orthogonal") a_ = 1.0;
}

Initializer Initializer::constant(double value) { return {"constant", value, 0.0}; }
Initializer Initializer::random_uniform(double low, double high) { return {"random_uniform", low, high}; }
Initializer Initializer::random_normal(double mean, double stddev) { return {"random_normal", mean, stddev}; }
Initializer Initializer::orthogonal(double gain) { return {"orthogonal", gain, 0.0}; }

void Initializer::fill(Tensor& tensor, Generator& gen) const {
  if (!is_floating(tensor.dtype())) {
    throw Error(std::string("initializer ") + name_ + ": tensor must be floating, got " + dtype_name(tensor.dtype()));
  }
  const Fans fans = compute_fans(tensor.shape());
  const std::int64_t n = tensor.numel();
  std::vector<double> values(static_cast<std::size_t>(n));
  auto uniform = [&](double limit) {
    for (auto& v : values) v = gen.uniform(-limit, limit);
  };
  auto normal = [&](double stddev) {
    for (auto& v : values) v = truncated_normal(gen, stddev);
  };
  if (name_ == "glorot_uniform") uniform(std::sqrt(6.0 / (fans.in + fans.out)));
  else if (name_ == "glorot_normal") normal(std::sqrt(2.0 / (fans.in + fans.out)));
  else if (name_ == "he_uniform") uniform(std::sqrt(6.0 / fans.in));
  else if (name_ == "he_normal") normal(std::sqrt(2.0 / fans.in));
  else if (name_ == "lecun_uniform") uniform(std::sqrt(3.0 / fans.in));
  else if (name_ == "lecun_normal") normal(std::sqrt(1.0 / fans.in));
  else if (name_ == "zeros") std::fill(values.begin(), values.end(), 0.0);
  else if (name_ == "ones" || name_ == "constant") std::fill(values.begin(), values.end(), a_);
  else if (name_ == "random_uniform") for (auto& v : values) v = gen.uniform(a_, b_);
  else if (name_ == "random_normal") for (auto& v : values) v = gen.normal(a_, b_);
  else if (name_ == "orthogonal") values = orthogonal_values(tensor.shape(), a_, gen);
  // from_vector reads an empty shape as [n]; a scalar weight (Attention's scale) is 0-d.
  tensor.copy_(Tensor::from_vector(values, tensor.shape()).reshape(tensor.shape()));
}

}  // namespace kiln
