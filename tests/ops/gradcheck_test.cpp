// Every differentiable op, checked against finite differences in float64.
// To cover a new op, add one entry to the table.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "support/gradcheck.hpp"

namespace kiln {
namespace {

using testing::GradCase;

Tensor labels_tensor(std::vector<std::int64_t> ids) { return Tensor::from_vector(ids); }

std::vector<GradCase> op_cases() {
  using V = const std::vector<Tensor>&;
  std::vector<GradCase> c;
  c.push_back({"add_broadcast", {{3, 4}, {4}}, [](V x) { return x[0] + x[1]; }});
  c.push_back({"add_broadcast_both", {{3, 1}, {1, 4}}, [](V x) { return x[0] + x[1]; }});
  c.push_back({"sub", {{2, 3}, {2, 3}}, [](V x) { return x[0] - x[1]; }});
  c.push_back({"mul_broadcast", {{2, 3, 4}, {3, 1}}, [](V x) { return x[0] * x[1]; }});
  c.push_back({"div", {{3, 4}, {3, 4}}, [](V x) { return x[0] / x[1]; }, 0.5, 2.0});
  c.push_back({"pow", {{3, 4}, {3, 4}}, [](V x) { return pow(x[0], x[1]); }, 0.5, 2.0});
  c.push_back({"pow_scalar", {{5}}, [](V x) { return pow(x[0], 3.0); }});
  c.push_back({"maximum", {{4, 5}, {4, 5}}, [](V x) { return maximum(x[0], x[1]); }});
  c.push_back({"minimum", {{4, 5}, {5}}, [](V x) { return minimum(x[0], x[1]); }});
  c.push_back({"scalar_ops", {{6}}, [](V x) { return (2.0 - x[0]) * 3.0 / 4.0 + 1.0; }});
  c.push_back({"scalar_divided_by", {{6}}, [](V x) { return 2.0 / x[0]; }, 0.5, 2.0});
  c.push_back({"neg", {{6}}, [](V x) { return -x[0]; }});
  c.push_back({"exp", {{6}}, [](V x) { return exp(x[0]); }});
  c.push_back({"log", {{6}}, [](V x) { return log(x[0]); }, 0.2, 3.0});
  c.push_back({"sqrt", {{6}}, [](V x) { return sqrt(x[0]); }, 0.2, 3.0});
  c.push_back({"abs", {{6}}, [](V x) { return abs(x[0]); }});
  c.push_back({"square", {{6}}, [](V x) { return square(x[0]); }});
  c.push_back({"clip", {{20}}, [](V x) { return clip(x[0], -0.5, 0.5); }});
  c.push_back({"relu", {{4, 5}}, [](V x) { return relu(x[0]); }});
  c.push_back({"leaky_relu", {{4, 5}}, [](V x) { return leaky_relu(x[0], 0.2); }});
  c.push_back({"sigmoid", {{4, 5}}, [](V x) { return sigmoid(x[0]); }, -4, 4});
  c.push_back({"tanh", {{4, 5}}, [](V x) { return tanh(x[0]); }, -2, 2});
  c.push_back({"softmax", {{3, 5}}, [](V x) { return softmax(x[0]); }, -3, 3});
  c.push_back({"gelu", {{4, 5}}, [](V x) { return gelu(x[0]); }, -3, 3});
  c.push_back({"gelu_tanh", {{4, 5}}, [](V x) { return gelu(x[0], /*approximate=*/true); }, -3, 3});
  c.push_back({"silu", {{4, 5}}, [](V x) { return silu(x[0]); }, -4, 4});
  c.push_back({"elu", {{4, 5}}, [](V x) { return elu(x[0], 0.7); }, -2, 2});
  c.push_back({"selu", {{4, 5}}, [](V x) { return selu(x[0]); }, -2, 2});
  c.push_back({"softplus", {{4, 5}}, [](V x) { return softplus(x[0]); }, -4, 4});
  c.push_back({"softsign", {{4, 5}}, [](V x) { return softsign(x[0]); }, -3, 3});
  c.push_back({"hard_sigmoid", {{4, 5}}, [](V x) { return hard_sigmoid(x[0]); }, -4, 4});
  c.push_back({"hard_silu", {{4, 5}}, [](V x) { return hard_silu(x[0]); }, -4, 4});
  c.push_back({"relu6", {{4, 5}}, [](V x) { return relu6(x[0]); }, -1, 7});
  c.push_back({"relu_slope_max_threshold", {{4, 5}}, [](V x) { return relu(x[0], 0.1, 0.8, 0.2); }, -1, 1.5});
  c.push_back({"mish", {{4, 5}}, [](V x) { return mish(x[0]); }, -3, 3});
  c.push_back({"exponential", {{4, 5}}, [](V x) { return exponential(x[0]); }, -2, 2});
  c.push_back({"softmax_3d", {{2, 3, 4}}, [](V x) { return softmax(x[0], -1); }, -3, 3});
  c.push_back({"log_softmax", {{3, 5}}, [](V x) { return log_softmax(x[0]); }, -3, 3});
  c.push_back({"sum_all", {{3, 4}}, [](V x) { return sum(x[0]); }});
  c.push_back({"sum_axes", {{2, 3, 4}}, [](V x) { return sum(x[0], {0, 2}); }});
  c.push_back({"sum_keepdims", {{2, 3, 4}}, [](V x) { return sum(x[0], {1}, true); }});
  c.push_back({"mean", {{2, 3, 4}}, [](V x) { return mean(x[0], {-1}); }});
  c.push_back({"mean_all", {{2, 3}}, [](V x) { return mean(x[0]); }});
  c.push_back({"broadcast_to", {{3, 1}}, [](V x) { return broadcast_to(x[0], {2, 3, 4}); }});
  c.push_back({"sum_to", {{2, 3, 4}}, [](V x) { return sum_to(x[0], {3, 1}); }});
  c.push_back({"reshape", {{2, 6}}, [](V x) { return reshape(x[0], {3, -1}) * 2.0; }});
  c.push_back({"transpose", {{2, 3}}, [](V x) { return transpose(x[0], 0, 1) * 2.0; }});
  c.push_back({"narrow", {{4, 5}}, [](V x) { return narrow(x[0], 1, 1, 3) * 2.0; }});
  c.push_back({"concat", {{2, 3}, {2, 2}}, [](V x) { return concat({x[0], x[1]}, 1); }});
  c.push_back({"matmul", {{3, 4}, {4, 5}}, [](V x) { return matmul(x[0], x[1]); }});
  c.push_back({"matmul_batched", {{2, 3, 4}, {4, 2}}, [](V x) { return matmul(x[0], x[1]); }});
  c.push_back({"matmul_transposed_input", {{4, 3}, {4, 5}}, [](V x) { return matmul(transpose(x[0], 0, 1), x[1]); }});
  c.push_back({"linear", {{3, 4}, {4, 2}, {2}}, [](V x) { return linear(x[0], x[1], x[2]); }});
  c.push_back({"linear_no_bias", {{2, 3, 4}, {4, 2}}, [](V x) { return linear(x[0], x[1], Tensor()); }});
  c.push_back({"conv2d_valid", {{2, 5, 6, 3}, {3, 3, 3, 4}, {4}}, [](V x) { return conv2d(x[0], x[1], x[2]); }});
  c.push_back({"conv2d_same_stride2",
               {{2, 7, 6, 2}, {3, 2, 2, 3}, {3}},
               [](V x) {
                 return conv2d(x[0], x[1], x[2], {.stride_h = 2, .stride_w = 2, .padding = "same"});
               }});
  c.push_back({"conv2d_dilated", {{1, 7, 7, 2}, {3, 3, 2, 2}}, [](V x) {
                 return conv2d(x[0], x[1], Tensor(), {.dilation_h = 2, .dilation_w = 2});
               }});
  c.push_back({"conv2d_fused_relu", {{2, 5, 5, 3}, {3, 3, 3, 4}, {4}}, [](V x) {
                 return conv2d(x[0], x[1], x[2], {.padding = "same", .relu = true});
               }});
  c.push_back({"conv2d_fused_relu_no_bias", {{2, 5, 5, 3}, {3, 3, 3, 4}}, [](V x) {
                 return conv2d(x[0], x[1], Tensor(), {.relu = true});
               }});
  c.push_back({"conv2d_transpose_valid", {{2, 3, 4, 3}, {3, 3, 2, 3}, {2}}, [](V x) {
                 return conv2d_transpose(x[0], x[1], x[2]);
               }});
  c.push_back({"conv2d_transpose_same_stride2", {{2, 3, 3, 2}, {4, 4, 3, 2}, {3}}, [](V x) {
                 return conv2d_transpose(x[0], x[1], x[2], {.stride_h = 2, .stride_w = 2, .padding = "same"});
               }});
  c.push_back({"conv2d_transpose_same_odd_kernel_stride21", {{1, 3, 3, 2}, {3, 2, 2, 2}}, [](V x) {
                 return conv2d_transpose(x[0], x[1], Tensor(), {.stride_h = 2, .stride_w = 1, .padding = "same"});
               }});
  // A kernel smaller than the stride: some output pixels see no input at all.
  c.push_back({"conv2d_transpose_kernel_below_stride", {{1, 2, 3, 2}, {1, 2, 2, 2}, {2}}, [](V x) {
                 return conv2d_transpose(x[0], x[1], x[2], {.stride_h = 3, .stride_w = 3});
               }});
  c.push_back({"conv2d_transpose_dilated", {{1, 3, 3, 2}, {2, 2, 3, 2}}, [](V x) {
                 return conv2d_transpose(x[0], x[1], Tensor(), {.dilation_h = 2, .dilation_w = 2});
               }});
  c.push_back({"upsample2d_nearest", {{2, 3, 2, 3}}, [](V x) { return upsample2d_nearest(x[0], 2, 3); }});
  c.push_back({"batch_norm_training", {{4, 3, 2, 5}, {5}, {5}}, [](V x) {
                 return batch_norm_training(x[0], x[1], x[2], 1e-3);
               }});
  // Synchronized over three identical processes (a sum that triples): the global batch's
  // statistics are this one's and each process's share is 1/3, so the gradient is unchanged.
  c.push_back({"batch_norm_training_synchronized", {{4, 3, 2, 5}, {5}, {5}}, [](V x) {
                 const SumOverProcesses three_replicas = [](std::vector<double>& v) {
                   for (double& e : v) e *= 3;
                 };
                 return batch_norm_training(x[0], x[1], x[2], 1e-3, nullptr, nullptr, three_replicas);
               }});
  c.push_back({"batch_norm_training_no_affine", {{6, 4}}, [](V x) {
                 return batch_norm_training(x[0], Tensor(), Tensor(), 1e-3);
               }});
  c.push_back({"batch_norm_inference",
               {{3, 2, 4}, {4}, {4}, {4}, {4}},
               [](V x) { return batch_norm_inference(x[0], x[1], x[2], x[3], x[4], 1e-3); },
               -1.0, 1.0, {},
               [](std::size_t i, const Shape& s) {  // a variance must be positive
                 return i == 2 ? Tensor::from_vector<double>({0.5, 1.0, 1.5, 2.0}, s) : Tensor();
               }});
  c.push_back({"max_pool2d", {{2, 4, 6, 3}}, [](V x) { return max_pool2d(x[0]); }});
  c.push_back({"max_pool2d_same_overlap", {{1, 5, 5, 2}}, [](V x) {
                 return max_pool2d(x[0], {.pool_h = 3, .pool_w = 3, .stride_h = 2, .stride_w = 2, .padding = "same"});
               }});
  c.push_back({"avg_pool2d", {{2, 4, 4, 3}}, [](V x) { return avg_pool2d(x[0]); }});
  c.push_back({"avg_pool2d_same", {{1, 5, 5, 2}}, [](V x) {
                 return avg_pool2d(x[0], {.pool_h = 2, .pool_w = 2, .stride_h = 2, .stride_w = 2, .padding = "same"});
               }});
  c.push_back({"sparse_softmax_cross_entropy",
               {{4, 5}, {4}},
               [](V x) { return sparse_softmax_cross_entropy(x[0], x[1]); },
               -3, 3, {true, false},
               [](std::size_t i, const Shape&) { return i == 1 ? labels_tensor({0, 4, 2, 2}) : Tensor(); }});
  c.push_back({"softmax_cross_entropy", {{3, 4}, {3, 4}}, [](V x) { return softmax_cross_entropy(x[0], x[1]); },
               0.0, 1.0});
  c.push_back({"sigmoid_cross_entropy", {{3, 4}, {3, 4}}, [](V x) { return sigmoid_cross_entropy(x[0], x[1]); },
               -3.0, 3.0});
  return c;
}

class OpGradient : public ::testing::TestWithParam<GradCase> {};

TEST_P(OpGradient, MatchesFiniteDifferences) { testing::expect_gradients_match(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Ops, OpGradient, ::testing::ValuesIn(op_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(OpGradient, DropoutPassesGradientThroughKeptUnits) {
  Generator gen(3);
  Tensor x = Tensor::full({1000}, 1.0, DType::Float64).set_requires_grad();
  Tensor y = dropout(x, 0.25, true, gen);
  sum(y).backward();
  const auto out = y.to_vector<double>();
  const auto g = x.grad().to_vector<double>();
  int dropped = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    EXPECT_DOUBLE_EQ(g[i], out[i]);  // d(sum)/dx = mask = y / x
    EXPECT_TRUE(out[i] == 0.0 || std::abs(out[i] - 1.0 / 0.75) < 1e-12);
    dropped += out[i] == 0.0;
  }
  EXPECT_GT(dropped, 180);  // about 250 of 1000
  EXPECT_LT(dropped, 320);
  // At inference dropout is the identity.
  EXPECT_TRUE(dropout(x, 0.25, false, gen).same(x));
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// The harness itself must be able to fail: an op whose backward is off by a
// factor of two is caught.
TEST(GradcheckHarness, CatchesAWrongBackward) {
  testing::GradCase wrong{"doubled_backward", {{1}}, [](const std::vector<Tensor>& x) {
                            Tensor out = x[0].detach() * 3.0;
                            autograd::record(out, "wrong", {x[0]}, [](const Tensor& g) -> std::vector<Tensor> {
                              return {g * 6.0};  // the true derivative is 3
                            });
                            return out;
                          }};
  EXPECT_NONFATAL_FAILURE(testing::expect_gradients_match(wrong), "analytic");
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// The fused float32 path (oneDNN post-op, one-pass mask and bias sum) gives
// what relu(conv2d(...)) gives, forward and backward.
TEST(FusedConvRelu, MatchesSeparateOpsInFloat32) {
  Generator gen(4);
  auto random = [&](const Shape& s) {
    Tensor t = Tensor::empty(s);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(gen.uniform(-1, 1));
    return t.set_requires_grad();
  };
  Tensor x = random({4, 9, 9, 5}), w = random({3, 3, 5, 8}), b = random({8});
  Tensor r = random({4, 9, 9, 8}).detach();
  Tensor fused = conv2d(x, w, b, {.padding = "same", .relu = true});
  sum(fused * r).backward();
  const auto gx = x.grad().to_vector<float>(), gw = w.grad().to_vector<float>(), gb = b.grad().to_vector<float>();
  for (Tensor* t : {&x, &w, &b}) t->zero_grad();
  Tensor separate = relu(conv2d(x, w, b, {.padding = "same"}));
  sum(separate * r).backward();
  auto close = [](const std::vector<float>& a, const std::vector<float>& e, const char* what) {
    ASSERT_EQ(a.size(), e.size());
    for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], e[i], 1e-4 * (1 + std::abs(e[i]))) << what << " " << i;
  };
  close(fused.to_vector<float>(), separate.to_vector<float>(), "output");
  close(gx, x.grad().to_vector<float>(), "input gradient");
  close(gw, w.grad().to_vector<float>(), "kernel gradient");
  close(gb, b.grad().to_vector<float>(), "bias gradient");
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

std::vector<testing::GradCase> fused_cases() {
  using V = const std::vector<Tensor>&;
  return {
      {"conv_relu_pool", {{2, 6, 6, 2}, {3, 3, 2, 3}, {3}}, [](V x) {
         return conv2d_max_pool2d(x[0], x[1], x[2], {.relu = true}, {});
       }},
      {"conv_pool_same_odd", {{2, 7, 5, 2}, {2, 2, 2, 3}, {3}}, [](V x) {
         return conv2d_max_pool2d(x[0], x[1], x[2], {.padding = "same"}, {.padding = "same"});
       }},
      {"conv_relu_pool_overlapping", {{1, 7, 7, 2}, {3, 3, 2, 2}}, [](V x) {
         return conv2d_max_pool2d(x[0], x[1], Tensor(), {.relu = true},
                                  {.pool_h = 3, .pool_w = 3, .stride_h = 2, .stride_w = 2});
       }},
  };
}

class FusedOpGradient : public ::testing::TestWithParam<testing::GradCase> {};
TEST_P(FusedOpGradient, MatchesFiniteDifferences) { testing::expect_gradients_match(GetParam()); }
INSTANTIATE_TEST_SUITE_P(Ops, FusedOpGradient, ::testing::ValuesIn(fused_cases()),
                         [](const auto& info) { return info.param.name; });

// The fused op is what a model runs for Conv2D then MaxPooling2D; it must give
// exactly what the two ops give one after the other.
TEST(FusedConvPool, EqualsConvThenPoolInFloat32) {
  Generator gen(9);
  auto random = [&](const Shape& s) {
    Tensor t = Tensor::empty(s);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(gen.uniform(-1, 1));
    return t.set_requires_grad();
  };
  Tensor x = random({8, 13, 13, 4}), w = random({3, 3, 4, 16}), b = random({16});
  Tensor fused = conv2d_max_pool2d(x, w, b, {.relu = true}, {});
  Tensor r = random(fused.shape()).detach();
  sum(fused * r).backward();
  const auto gx = x.grad().to_vector<float>(), gw = w.grad().to_vector<float>(), gb = b.grad().to_vector<float>();
  for (Tensor* t : {&x, &w, &b}) t->zero_grad();
  Tensor separate = max_pool2d(conv2d(x, w, b, {.relu = true}));
  sum(separate * r).backward();
  EXPECT_EQ(fused.to_vector<float>(), separate.to_vector<float>());
  EXPECT_EQ(gx, x.grad().to_vector<float>());
  EXPECT_EQ(gw, w.grad().to_vector<float>());
  // The bias gradient is summed over the pooled tensor instead of the full
  // one: the same terms (plus exact zeros) in another order.
  const auto gb_separate = b.grad().to_vector<float>();
  for (std::size_t i = 0; i < gb.size(); ++i) EXPECT_NEAR(gb[i], gb_separate[i], 1e-5f * (1 + std::abs(gb[i])));
}

}  // namespace
}  // namespace kiln
