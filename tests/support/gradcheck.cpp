#include "support/gradcheck.hpp"

#include <cmath>

namespace kiln::testing {

std::vector<Tensor> make_inputs(const GradCase& c, std::uint64_t seed) {
  Generator gen(seed);
  std::vector<Tensor> inputs;
  for (std::size_t i = 0; i < c.shapes.size(); ++i) {
    Tensor t;
    if (c.make_input) t = c.make_input(i, c.shapes[i]);
    if (!t.defined()) {
      t = Tensor::empty(c.shapes[i], DType::Float64);
      double* d = t.data<double>();
      for (std::int64_t k = 0; k < t.numel(); ++k) d[k] = gen.uniform(c.low, c.high);
    }
    const bool diff = c.differentiable.empty() || c.differentiable[i];
    if (diff) t.set_requires_grad(true);
    inputs.push_back(t);
  }
  return inputs;
}

void expect_gradients_match(const std::string& name, const std::function<Tensor()>& loss,
                            const std::vector<Tensor>& wrt, double rtol, double atol, double step) {
  for (const Tensor& t : wrt) {
    ASSERT_EQ(t.dtype(), DType::Float64) << name << ": gradient checks run in float64";
    const_cast<Tensor&>(t).zero_grad();
  }
  Tensor out = loss();
  ASSERT_EQ(out.numel(), 1) << name;
  out.backward();
  for (std::size_t i = 0; i < wrt.size(); ++i) {
    Tensor t = wrt[i];
    Tensor analytic = t.grad();
    ASSERT_TRUE(analytic.defined()) << name << ": no gradient reached input " << i;
    auto a = analytic.contiguous().to_vector<double>();
    double* x = t.data<double>();
    int failures = 0;
    for (std::int64_t k = 0; k < t.numel(); ++k) {
      const double saved = x[k];
      double plus, minus;
      {
        NoGradGuard no_grad;
        x[k] = saved + step;
        plus = loss().item();
        x[k] = saved - step;
        minus = loss().item();
      }
      x[k] = saved;
      const double numeric = (plus - minus) / (2 * step);
      const double err = std::abs(a[k] - numeric);
      if (err > atol + rtol * std::abs(numeric) && failures++ < 5) {
        ADD_FAILURE() << name << ": input " << i << " element " << k << ": analytic " << a[k] << " vs numeric "
                      << numeric << " (error " << err << ")";
      }
    }
  }
}

void expect_gradients_match(const GradCase& c, double rtol, double atol, double step) {
  std::vector<Tensor> inputs = make_inputs(c);
  // Random weights make every output element matter differently.
  Tensor probe = c.fn(inputs);
  Generator gen(99);
  Tensor weights = Tensor::empty(probe.shape(), DType::Float64);
  for (std::int64_t k = 0; k < weights.numel(); ++k) weights.data<double>()[k] = gen.uniform(-1.0, 1.0);
  std::vector<Tensor> wrt;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (c.differentiable.empty() || c.differentiable[i]) wrt.push_back(inputs[i]);
  }
  expect_gradients_match(
      c.name, [&] { return sum(c.fn(inputs) * weights); }, wrt, rtol, atol, step);
}

void expect_layer_gradients_match(const LayerGradCase& c) {
  manual_seed(11);
  auto layer = c.make();
  layer->set_dtype(DType::Float64);
  Generator gen(5);
  Tensor x = Tensor::empty(c.input_shape, DType::Float64);
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data<double>()[i] = gen.uniform(-1, 1);
  x.set_requires_grad();
  Tensor probe = (*layer)(x, c.training);
  std::vector<Generator::State> states;
  for (Generator* g : layer->generators()) states.push_back(g->state());
  Tensor weights = Tensor::empty(probe.shape(), DType::Float64);
  for (std::int64_t i = 0; i < weights.numel(); ++i) weights.data<double>()[i] = gen.uniform(-1, 1);
  std::vector<Tensor> wrt{x};
  for (const auto& w : layer->trainable_weights()) wrt.push_back(w);
  const auto call = [&] {
    auto generators = layer->generators();
    for (std::size_t i = 0; i < generators.size(); ++i) generators[i]->set_state(states[i]);
    return sum((*layer)(x, c.training) * weights);
  };
  expect_gradients_match(c.name, call, wrt);
}

}  // namespace kiln::testing
