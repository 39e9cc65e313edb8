// Initial values for weights, with Keras's names and formulas.
#pragma once
#include <string>

#include "kiln/random.hpp"
#include "kiln/tensor.hpp"

namespace kiln {

// An initializer is a name plus up to two numbers, so it can be written as a
// string ("glorot_uniform") and saved with a model's configuration.
//   glorot_uniform / glorot_normal   Keras's default for kernels: fan_in + fan_out
//   he_uniform / he_normal           for ReLU networks: fan_in
//   lecun_uniform / lecun_normal
//   zeros / ones / constant(v)
//   orthogonal(gain)                 Keras's default recurrent kernel: the rows (or
//                                    columns, whichever are fewer) orthonormal, times gain
//   random_uniform(low, high) / random_normal(mean, stddev)
// Fans follow Keras: a Dense kernel [in, out] has fan_in = in, fan_out = out;
// a Conv2D kernel [kh, kw, in, out] has fan_in = kh*kw*in, fan_out = kh*kw*out.
class Initializer {
 public:
  Initializer(const char* name) : Initializer(std::string(name)) {}  // NOLINT: strings convert, as in Keras
  Initializer(std::string name);                                    // NOLINT
  static Initializer constant(double value);
  static Initializer random_uniform(double low = -0.05, double high = 0.05);
  static Initializer random_normal(double mean = 0.0, double stddev = 0.05);
  static Initializer orthogonal(double gain = 1.0);

  const std::string& name() const { return name_; }
  double a() const { return a_; }
  double b() const { return b_; }
  // Fills a contiguous floating tensor.
  void fill(Tensor& tensor, Generator& generator) const;

 private:
  Initializer(std::string name, double a, double b) : name_(std::move(name)), a_(a), b_(b) {}
  std::string name_;
  double a_ = 0.0, b_ = 0.0;
};

}  // namespace kiln
