// The article's walk-through of gradient descent: fit y = w x + b to data by
// minimising the mean squared error, one small step downhill at a time.
//
//   ./build/examples/linear_regression
//
// Synthetic data comes from w = 3, b = 2 plus a little noise; gradient
// descent should recover both.
#include <cmath>
#include <cstdio>

#include "kiln/kiln.hpp"

int main() {
  const double true_w = 3.0, true_b = 2.0;
  const std::int64_t n = 1000;

  // x in [-1, 1], y = 3x + 2 + noise. The noise is symmetric and small, so the
  // least-squares line is within a hair of the true one.
  kiln::Generator gen(42);
  std::vector<double> xs(n), ys(n);
  for (std::int64_t i = 0; i < n; ++i) {
    xs[i] = gen.uniform(-1.0, 1.0);
    ys[i] = true_w * xs[i] + true_b + gen.normal(0.0, 0.002);
  }
  const kiln::Tensor x = kiln::Tensor::from_vector(xs, {n, 1});
  const kiln::Tensor y = kiln::Tensor::from_vector(ys, {n, 1});

  // The parameters start at zero and ask for gradients.
  kiln::Tensor w = kiln::Tensor::zeros({1, 1}, kiln::DType::Float64).set_requires_grad();
  kiln::Tensor b = kiln::Tensor::zeros({1}, kiln::DType::Float64).set_requires_grad();
  const double learning_rate = 0.1;

  for (int step = 0; step <= 500; ++step) {
    // Forward: predictions and the mean squared error.
    const kiln::Tensor prediction = kiln::matmul(x, w) + b;
    const kiln::Tensor loss = kiln::mean(kiln::square(prediction - y));
    // Backward: d(loss)/dw and d(loss)/db by automatic differentiation.
    loss.backward();
    if (step % 50 == 0) {
      std::printf("step %3d  loss %.6f  w %.4f  b %.4f\n", step, loss.item(), w.item(), b.item());
    }
    // Gradient descent: move each parameter against its gradient.
    {
      kiln::NoGradGuard no_grad;
      w.copy_(w - w.grad() * learning_rate);
      b.copy_(b - b.grad() * learning_rate);
    }
    w.zero_grad();
    b.zero_grad();
  }

  // The exact least-squares answer, to show gradient descent reached it.
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::int64_t i = 0; i < n; ++i) sx += xs[i], sy += ys[i], sxx += xs[i] * xs[i], sxy += xs[i] * ys[i];
  const double ls_w = (n * sxy - sx * sy) / (n * sxx - sx * sx), ls_b = (sy - ls_w * sx) / n;

  std::printf("learned:       w = %.4f, b = %.4f\n", w.item(), b.item());
  std::printf("least squares: w = %.4f, b = %.4f\n", ls_w, ls_b);
  std::printf("true:          w = %.4f, b = %.4f\n", true_w, true_b);
  const bool recovered = std::abs(w.item() - true_w) < 1e-3 && std::abs(b.item() - true_b) < 1e-3;
  std::printf("%s\n", recovered ? "recovered w and b within 1e-3" : "did NOT recover w and b within 1e-3");
  return recovered ? 0 : 1;
}
