// One harness for every gradient test: analytic gradients from backward()
// against central finite differences, all in double precision.
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "kiln/kiln.hpp"

namespace kiln::testing {

struct GradCase {
  std::string name;
  std::vector<Shape> shapes;                             // one per input
  std::function<Tensor(const std::vector<Tensor>&)> fn;  // the op under test
  double low = -1.0, high = 1.0;                         // inputs drawn uniformly from here
  std::vector<bool> differentiable = {};                 // default: all inputs
  // Replaces generated inputs (e.g. labels); return undefined to keep the random one.
  std::function<Tensor(std::size_t index, const Shape& shape)> make_input = nullptr;
};

// Test names show the case's name rather than its bytes.
inline void PrintTo(const GradCase& c, std::ostream* os) { *os << c.name; }

// Random inputs in float64 for a case.
std::vector<Tensor> make_inputs(const GradCase& c, std::uint64_t seed = 1);

// Compares d(sum(fn(x) * r))/dx for random weights r; reports every mismatch.
void expect_gradients_match(const GradCase& c, double rtol = 1e-5, double atol = 1e-7, double step = 1e-6);

// Same check for an arbitrary scalar function of some tensors (e.g. a layer's
// parameters and input): tensors are perturbed in place.
void expect_gradients_match(const std::string& name, const std::function<Tensor()>& loss,
                            const std::vector<Tensor>& wrt, double rtol = 1e-5, double atol = 1e-7, double step = 1e-6);

// A layer's gradients with respect to its input and every trainable weight.
struct LayerGradCase {
  std::string name;
  std::function<std::shared_ptr<layers::Layer>()> make;
  Shape input_shape;  // including the batch axis
  bool training = true;
};

inline void PrintTo(const LayerGradCase& c, std::ostream* os) { *os << c.name; }

// Builds the case's layer in float64 and checks d(sum(layer(x) * r)) against finite differences.
// Layers that draw randomness (dropout, noise) have their generators reset to one state before
// each call, so that every evaluation sees the same noise.
void expect_layer_gradients_match(const LayerGradCase& c);

}  // namespace kiln::testing
