// Layer fusion as a rewrite of the model graph (src/model/fusion.cpp): the
// same weights with fusion on and off give the same outputs and gradients, in
// Sequential and functional models alike, and only layers of exactly the
// fused types are fused.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include "kiln/kiln.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::random_tensor;

using namespace kiln::layers;

// Every op name in the autograd graph behind `t`.
std::set<std::string> ops_behind(const Tensor& t) {
  std::set<std::string> names;
  std::vector<std::shared_ptr<autograd::Node>> todo;
  if (t.grad_fn()) todo.push_back(t.grad_fn());
  std::set<const autograd::Node*> seen;
  while (!todo.empty()) {
    auto node = todo.back();
    todo.pop_back();
    if (!seen.insert(node.get()).second) continue;
    names.insert(node->name);
    for (const Tensor& in : node->inputs) {
      if (in.defined() && in.grad_fn()) todo.push_back(in.grad_fn());
    }
  }
  return names;
}

struct Run {
  std::vector<float> output;
  std::vector<std::vector<float>> grads;  // one per trainable weight, in the model's order
  std::set<std::string> ops;
};

// Forward on a fixed batch and backward from a fixed linear function of the output.
Run run(Model& model, const Tensor& x) {
  const auto weights = model.trainable_weights();
  for (Tensor w : weights) w.zero_grad();
  const Tensor y = model(x, /*training=*/true);
  Run out{y.to_vector<float>(), {}, ops_behind(y)};  // before backward() frees the graph
  const Tensor r = random_tensor(y.shape(), 99);
  sum(y * r).backward();
  for (const Tensor& w : weights) out.grads.push_back(w.grad().to_vector<float>());
  return out;
}

// Fused and unfused: the output and the input and kernel gradients are the
// same numbers; a bias gradient is summed over the pooled tensor instead of
// the full one (the same terms plus exact zeros, in another order).
void expect_same_numbers(Model& model, const Tensor& x) {
  ASSERT_TRUE(model.layer_fusion());  // on by default
  const Run fused = run(model, x);
  model.set_layer_fusion(false);
  const Run separate = run(model, x);
  model.set_layer_fusion(true);
  EXPECT_TRUE(fused.ops.count("conv2d_max_pool2d")) << "nothing was fused";
  EXPECT_FALSE(separate.ops.count("conv2d_max_pool2d")) << "fusion was not turned off";
  EXPECT_EQ(fused.output, separate.output);
  const auto weights = model.trainable_weights();
  ASSERT_EQ(fused.grads.size(), weights.size());
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const std::string& name = weights[i].name();
    if (name.find("conv2d") != std::string::npos && name.ends_with("/bias")) {
      ASSERT_EQ(fused.grads[i].size(), separate.grads[i].size());
      for (std::size_t j = 0; j < fused.grads[i].size(); ++j) {
        EXPECT_NEAR(fused.grads[i][j], separate.grads[i][j], 1e-5f * (1 + std::abs(separate.grads[i][j]))) << name;
      }
    } else {
      EXPECT_EQ(fused.grads[i], separate.grads[i]) << name;
    }
  }
}

// The article's pattern: Conv2D(relu) + MaxPooling2D twice, the second one on
// oneDNN's path (16 input channels), the first a linear one.
TEST(LayerFusion, SequentialGivesTheSameOutputsAndGradientsFusedOrNot) {
  manual_seed(5);
  Sequential model;
  model.add(Conv2D(8, {3, 3}, "", {12, 12, 3}));
  model.add(MaxPooling2D({2, 2}));
  model.add(Conv2D(16, {3, 3}, Conv2DOptions{.padding = "same", .activation = "relu"}));
  model.add(MaxPooling2D({2, 2}));
  model.add(Flatten());
  model.add(Dense(4));
  expect_same_numbers(model, random_tensor({3, 12, 12, 3}, 1));
}

TEST(LayerFusion, FunctionalGivesTheSameOutputsAndGradientsFusedOrNot) {
  manual_seed(6);
  const SymbolicTensor in = Input({12, 12, 3});
  SymbolicTensor h = MaxPooling2D({2, 2})(Conv2D(8, {3, 3}, "relu")(in));
  h = MaxPooling2D({2, 2})(Conv2D(16, {3, 3}, Conv2DOptions{.padding = "same", .activation = "relu"})(h));
  Model model(in, Dense(4)(Flatten()(h)));
  expect_same_numbers(model, random_tensor({3, 12, 12, 3}, 2));
}

// A Conv2D whose output another layer reads too, or that is a model output,
// is computed as it is: fusing it would lose a value someone needs.
TEST(LayerFusion, FunctionalKeepsAConvolutionThatOthersRead) {
  manual_seed(7);
  const SymbolicTensor in = Input({8, 8, 3});
  const SymbolicTensor c = Conv2D(4, {3, 3}, "relu")(in);
  const SymbolicTensor pooled = MaxPooling2D({2, 2})(c);
  Model two_readers(in, Concatenate()({Flatten()(pooled), Flatten()(c)}));
  Model conv_is_output(std::vector<SymbolicTensor>{in}, std::vector<SymbolicTensor>{pooled, c});
  const Tensor x = random_tensor({2, 8, 8, 3}, 3);
  EXPECT_FALSE(ops_behind(two_readers(x, true)).count("conv2d_max_pool2d"));
  for (const Tensor& y : conv_is_output(std::vector<Tensor>{x}, true)) {
    EXPECT_FALSE(ops_behind(y).count("conv2d_max_pool2d"));
  }
}

// A user's subclass of Conv2D with a forward of its own must run it: fusion
// matches exact types only.
class ScaledConv2D : public Conv2D {
 public:
  using Conv2D::Conv2D;
  int calls = 0;

 protected:
  Tensor forward(const Tensor& x, bool training) override {
    ++calls;
    return Conv2D::forward(x, training) * 2.0;
  }
};

TEST(LayerFusion, SubclassOfConv2DKeepsItsOwnForwardInSequential) {
  manual_seed(8);
  auto conv = std::make_shared<ScaledConv2D>(4, Size2{3, 3}, "relu", Shape{8, 8, 3});
  Sequential model;
  model.add(conv);
  model.add(MaxPooling2D({2, 2}));
  const Tensor x = random_tensor({2, 8, 8, 3}, 4);
  const Tensor y = model(x);
  EXPECT_EQ(conv->calls, 1);
  // What the layers give one by one: the subclass's doubled convolution, pooled.
  const Tensor expected = max_pool2d((*conv)(x));
  EXPECT_EQ(y.to_vector<float>(), expected.to_vector<float>());
}

TEST(LayerFusion, SubclassOfConv2DKeepsItsOwnForwardInFunctional) {
  manual_seed(9);
  auto conv = std::make_shared<ScaledConv2D>(4, Size2{3, 3}, "relu");
  const SymbolicTensor in = Input({8, 8, 3});
  Model model(in, MaxPooling2D({2, 2})((*conv)(in)));
  const int before = conv->calls;
  const Tensor x = random_tensor({2, 8, 8, 3}, 5);
  const Tensor y = model(x);
  EXPECT_EQ(conv->calls, before + 1);
  const Tensor expected = max_pool2d((*conv)(x));
  EXPECT_EQ(y.to_vector<float>(), expected.to_vector<float>());
}

}  // namespace
}  // namespace kiln
