// Mixed precision (kiln/mixed_precision.hpp): the policy API, what configs and model
// files record, and the bf16 compute paths of Dense and Conv2D, forward and backward.
//
// Error bound of a bf16 result (derived in tests/kernels/mixed_precision_kernels_test.cpp):
// each operand rounded to bf16 errs by at most u = 2^-8 of itself (8 significant bits),
// a product of two by 2u + u^2, and a float32 sum of K terms adds about K 2^-24; so a
// result is within (2^-7 + 2^-16 + 1.01 K 2^-24) S of the exact one, S being the same
// sum over the operands' magnitudes. S comes from running the float64 layer on |x|,
// |W|, |b| and |dL/dy|.
#include "kiln/mixed_precision.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "kiln/kiln.hpp"
#include "support/common.hpp"
#include "support/gradcheck.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;
using testing::random_tensor;

// Restores the global policy a test changes.
struct MpPolicyGuard {
  mixed_precision::DTypePolicy saved = mixed_precision::global_policy();
  ~MpPolicyGuard() { mixed_precision::set_global_policy(saved); }
};

TEST(MixedPrecisionPolicy, NamesAndDtypesAreKeras) {
  const mixed_precision::DTypePolicy mixed("mixed_bfloat16");
  EXPECT_EQ(mixed.name(), "mixed_bfloat16");
  EXPECT_EQ(mixed.variable_dtype(), DType::Float32);
  EXPECT_EQ(mixed.compute_dtype(), "bfloat16");
  EXPECT_TRUE(mixed.is_mixed());
  EXPECT_EQ(mixed.compute_type(), mixed_precision::native_bf16() ? ComputeType::BFloat16 : ComputeType::Float32);
  const mixed_precision::DTypePolicy plain;
  EXPECT_EQ(plain.name(), "float32");
  EXPECT_EQ(plain.compute_dtype(), "float32");
  EXPECT_EQ(plain.compute_type(), ComputeType::Float32);
  EXPECT_EQ(mixed_precision::DTypePolicy("float64").variable_dtype(), DType::Float64);
  EXPECT_EQ(mixed_precision::DTypePolicy("float64").compute_dtype(), "float64");
  try {
    mixed_precision::DTypePolicy("mixed_float16");
    FAIL() << "mixed_float16 accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "dtype policy: expected \"float32\", \"float64\" or \"mixed_bfloat16\", got \"mixed_float16\" (Kiln "
                 "keeps weights in float32 and has no float16 kernels; use \"mixed_bfloat16\")");
  }
  EXPECT_THROW(mixed_precision::DTypePolicy("float8"), Error);
}

TEST(MixedPrecisionPolicy, GlobalPolicyReachesLayersMadeAfterIt) {
  MpPolicyGuard guard;
  Dense before(4);
  mixed_precision::set_global_policy("mixed_bfloat16");
  EXPECT_EQ(mixed_precision::global_policy().name(), "mixed_bfloat16");
  Dense after(4);
  Conv2D conv(8, {3, 3});
  EXPECT_EQ(before.dtype_policy().name(), "float32");
  EXPECT_EQ(after.dtype_policy().name(), "mixed_bfloat16");
  EXPECT_EQ(conv.dtype_policy().name(), "mixed_bfloat16");
  EXPECT_EQ(after.dtype(), DType::Float32);  // variables stay float32
  after.build({6});
  EXPECT_EQ(after.kernel().dtype(), DType::Float32);
  mixed_precision::set_global_policy("float64");
  EXPECT_EQ(Dense(2).dtype(), DType::Float64);
  mixed_precision::set_global_policy("float32");
  EXPECT_EQ(Dense(2).dtype_policy().name(), "float32");
}

TEST(MixedPrecisionPolicy, PerLayerPolicyAndWhenItMayChange) {
  Dense dense(3);
  dense.set_dtype_policy("mixed_bfloat16");
  EXPECT_EQ(dense.dtype_policy().name(), "mixed_bfloat16");
  dense.build({5});
  // The weights stay float32 either way, so built layers may switch between the two.
  dense.set_dtype_policy("float32");
  dense.set_dtype_policy("mixed_bfloat16");
  try {
    dense.set_dtype_policy("float64");
    FAIL() << "a built float32 layer took float64";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "Dense '" + dense.name() +
                                         "': set the dtype policy \"float64\" before the layer is built (its float32 "
                                         "weights exist)");
  }
  Dense other(3);
  other.set_dtype(DType::Float64);
  EXPECT_EQ(other.dtype_policy().name(), "float64");
}

TEST(MixedPrecisionPolicy, ConfigRecordsThePolicyAsKeras3Does) {
  Conv2D conv(4, {3, 3});
  conv.set_dtype_policy("mixed_bfloat16");
  const nlohmann::json config = conv.get_config();
  EXPECT_EQ(config.at("dtype"), nlohmann::json::parse(R"({"module": "keras", "class_name": "DTypePolicy",
                                                          "config": {"name": "mixed_bfloat16"}, "registered_name": null})"));
  EXPECT_EQ(layer_from_config("Conv2D", config)->dtype_policy().name(), "mixed_bfloat16");
  // A float32 layer keeps writing the plain name, which Keras reads as that policy.
  EXPECT_EQ(Dense(2).get_config().at("dtype"), "float32");
  // Keras 3.0-3.3 named the class FloatDTypePolicy; the name inside is what counts. A bare name works too.
  nlohmann::json keras = Dense(2).get_config();
  keras["dtype"] = nlohmann::json::parse(
      R"({"module": "keras", "class_name": "FloatDTypePolicy", "config": {"name": "mixed_bfloat16"}, "registered_name": null})");
  EXPECT_EQ(layer_from_config("Dense", keras)->dtype_policy().name(), "mixed_bfloat16");
  keras["dtype"] = "mixed_bfloat16";
  EXPECT_EQ(layer_from_config("Dense", keras)->dtype_policy().name(), "mixed_bfloat16");
  keras["dtype"] = "mixed_float16";
  keras["name"] = "head";
  try {
    layer_from_config("Dense", keras);
    FAIL() << "mixed_float16 accepted";
  } catch (const Error& e) {
    EXPECT_TRUE(testing::contains(e.what(), "layer config for Dense 'head': dtype policy: expected")) << e.what();
  }
}

Sequential mp_small_cnn() {
  Sequential model;
  model.add(Conv2D(8, {3, 3}, "relu", {10, 10, 6}));
  model.add(MaxPooling2D({2, 2}));
  model.add(Flatten());
  model.add(Dense(5));
  return model;
}

TEST(MixedPrecisionPolicy, ModelFilesKeepFloat32WeightsAndThePolicy) {
  MpPolicyGuard guard;
  mixed_precision::set_global_policy("mixed_bfloat16");
  Sequential model = mp_small_cnn();
  mixed_precision::set_global_policy("float32");  // loading must not depend on the global policy
  const Tensor x = random_tensor({2, 10, 10, 6}, 5);
  const Tensor y = model(x);
  testing::TempDir dir;
  model.save(dir.path() / "mixed.safetensors");
  const auto loaded = load_model(dir.path() / "mixed.safetensors");
  for (const auto& layer : loaded->layers()) {
    EXPECT_EQ(layer->dtype_policy().name(), "mixed_bfloat16") << layer->name();
    for (const auto& w : layer->weights()) EXPECT_EQ(w.value.dtype(), DType::Float32) << layer->name();
  }
  for (std::size_t i = 0; i < model.layers().size(); ++i) {
    const auto a = model.layers()[i]->get_weights(), b = loaded->layers()[i]->get_weights();
    for (std::size_t j = 0; j < a.size(); ++j) EXPECT_TRUE(testing::same_bits(a[j], b[j]));
  }
  EXPECT_TRUE(testing::same_bits((*loaded)(x), y));  // the same weights, computed the same way
}

// Conv2D then MaxPooling2D run as one fused op in a model; it computes in bf16 too.
TEST(MixedPrecisionPolicy, FusedConvolutionAndPoolingComputeInBf16) {
  if (!mixed_precision::native_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  Sequential model = mp_small_cnn();
  for (const auto& layer : model.layers()) layer->set_dtype_policy("mixed_bfloat16");
  const Tensor x = random_tensor({2, 10, 10, 6}, 6);
  NoGradGuard no_grad;
  const auto& conv = static_cast<const Conv2D&>(*model.layers()[0]);
  const auto& dense = static_cast<const Dense&>(*model.layers()[3]);
  Conv2dParams params = conv.conv_params();
  ASSERT_EQ(params.compute, ComputeType::BFloat16);
  auto by_hand = [&](ComputeType compute) {
    params.compute = compute;
    const Tensor pooled = max_pool2d(conv2d(x, conv.kernel(), conv.bias(), params));
    return linear(reshape(pooled, {2, 4 * 4 * 8}), dense.kernel(), dense.bias(), compute);
  };
  const Tensor y = model(x);
  EXPECT_TRUE(testing::same_bits(y, by_hand(ComputeType::BFloat16)));
  EXPECT_FALSE(testing::same_bits(y, by_hand(ComputeType::Float32)));
}

// --- bf16 results and gradients against float64, within the bound above -------------------------

struct MpLayerCase {
  const char* name;
  std::function<std::shared_ptr<Layer>()> make;
  Shape input;
  std::int64_t k_forward, k_input_grad, k_kernel_grad;  // terms summed per element (K above)
};

void PrintTo(const MpLayerCase& c, std::ostream* os) { *os << c.name; }

struct MpRun {
  Tensor y, gx;
  std::vector<Tensor> gw;  // per trainable weight, kernel first
};

// Runs `layer` on x (weights set from `weights`) and backpropagates sum(y * r).
MpRun mp_run(Layer& layer, const Tensor& x_in, const std::vector<Tensor>& weights, const Tensor& r) {
  Tensor x = x_in.clone();
  x.set_requires_grad(true);
  layer.build(Shape(x.shape().begin() + 1, x.shape().end()));
  layer.set_weights(weights);
  MpRun out;
  out.y = layer(x, true);
  sum(out.y * r).backward();
  out.gx = x.grad();
  for (const auto& w : layer.trainable_weights()) out.gw.push_back(w.grad());
  return out;
}

std::vector<Tensor> mp_converted(const std::vector<Tensor>& ts, DType dtype, bool magnitude) {
  std::vector<Tensor> out;
  for (const auto& t : ts) out.push_back(magnitude ? abs(t.to(dtype)) : t.to(dtype));
  return out;
}

void mp_expect_bounded(const Tensor& bf16, const Tensor& exact, const Tensor& magnitude, std::int64_t K,
                       const std::string& what) {
  const double bound = std::ldexp(1.0, -7) + std::ldexp(1.0, -16) + 1.01 * double(K) * std::ldexp(1.0, -24);
  const Tensor a = bf16.to(DType::Float64).contiguous(), e = exact.contiguous(), m = magnitude.contiguous();
  ASSERT_EQ(a.shape(), e.shape()) << what;
  double worst = 0, largest = 0;  // in units of the bound; the largest error relative to S
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    const double err = std::abs(a.data<double>()[i] - e.data<double>()[i]), s = m.data<double>()[i];
    worst = std::max(worst, err / (bound * s + 1e-300));
    largest = std::max(largest, err / (s + 1e-300));
  }
  EXPECT_LE(worst, 1.0) << what;
  // And it did round: float32 products would stay within about K 2^-24 of S.
  EXPECT_GT(largest, 10 * double(K) * std::ldexp(1.0, -24)) << what << " looks computed in float32";
}

class MixedPrecisionLayer : public ::testing::TestWithParam<MpLayerCase> {};

TEST_P(MixedPrecisionLayer, ResultsAndGradientsWithinBf16Bounds) {
  if (!mixed_precision::native_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  const MpLayerCase& c = GetParam();
  auto mixed = c.make(), exact = c.make(), magnitude = c.make();
  mixed->set_dtype_policy("mixed_bfloat16");
  exact->set_dtype(DType::Float64);
  magnitude->set_dtype(DType::Float64);
  const Tensor x = random_tensor(c.input, 1);
  Shape sample(c.input.begin() + 1, c.input.end());
  mixed->build(sample);
  const std::vector<Tensor> weights = mixed->get_weights();
  Shape r_shape = {c.input[0]};
  for (auto d : mixed->compute_output_shape(sample)) r_shape.push_back(d);
  const Tensor rr = random_tensor(r_shape, 2);

  const MpRun got = mp_run(*mixed, x, weights, rr);
  const MpRun want =
      mp_run(*exact, x.to(DType::Float64), mp_converted(weights, DType::Float64, false), rr.to(DType::Float64));
  const MpRun size = mp_run(*magnitude, abs(x.to(DType::Float64)), mp_converted(weights, DType::Float64, true),
                            abs(rr.to(DType::Float64)));
  mp_expect_bounded(got.y, want.y, size.y, c.k_forward, "output");
  mp_expect_bounded(got.gx, want.gx, size.gx, c.k_input_grad, "input gradient");
  mp_expect_bounded(got.gw[0], want.gw[0], size.gw[0], c.k_kernel_grad, "kernel gradient");
  // The bias gradient sums dL/dy in float32: no bf16 in it.
  const Tensor gb = got.gw[1].to(DType::Float64);
  for (std::int64_t i = 0; i < gb.numel(); ++i) {
    EXPECT_NEAR(gb.data<double>()[i], want.gw[1].data<double>()[i], 1e-5 * size.gw[1].data<double>()[i]) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Layers, MixedPrecisionLayer,
    ::testing::Values(
        MpLayerCase{"Dense", [] { return std::make_shared<Dense>(24); }, {16, 40}, 40 + 1, 24, 16},
        MpLayerCase{"Conv2D",
                    [] {
                      return std::make_shared<Conv2D>(16, Size2{3, 3});
                    },
                    {2, 9, 8, 8},
                    3 * 3 * 8 + 1,
                    3 * 3 * 16,
                    2 * 7 * 6},
        MpLayerCase{"Conv2D_same_strided",
                    [] {
                      return std::make_shared<Conv2D>(12, Size2{3, 3}, Conv2DOptions{.strides = 2, .padding = "same"});
                    },
                    {3, 9, 9, 16},
                    3 * 3 * 16 + 1,
                    3 * 3 * 12,
                    3 * 5 * 5}));

// Recurrences feed each step's rounding errors into the next, so there is no bound of the
// form above. Each step's products err by about 2^-8 of their size (relative, in the norm:
// the errors of independent roundings add like a random walk), and T steps of them, as
// independent errors, by about sqrt(T) 2^-8. The check allows 4 times that, and asks the
// error to exceed 2^-14 (float32 would stay near 1e-6: the products really were bf16).
double mp_norm_error(const Tensor& got, const Tensor& exact) {
  const Tensor g = got.to(DType::Float64).contiguous(), e = exact.contiguous();
  double diff = 0, norm = 0;
  for (std::int64_t i = 0; i < e.numel(); ++i) {
    const double d = g.data<double>()[i] - e.data<double>()[i];
    diff += d * d;
    norm += e.data<double>()[i] * e.data<double>()[i];
  }
  return std::sqrt(diff / norm);
}

class MixedPrecisionRecurrent : public ::testing::TestWithParam<std::string> {};

TEST_P(MixedPrecisionRecurrent, ResultsAndGradientsNearFloat64) {
  if (!mixed_precision::native_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  const std::int64_t B = 6, T = 10, I = 12, H = 16;
  auto make = [&]() -> std::shared_ptr<Layer> {
    const RNNOptions options{.return_sequences = true};
    if (GetParam() == "LSTM") return std::make_shared<LSTM>(H, options);
    if (GetParam() == "GRU") return std::make_shared<GRU>(H, options);
    return std::make_shared<SimpleRNN>(H, options);
  };
  auto mixed = make(), exact = make();
  mixed->set_dtype_policy("mixed_bfloat16");
  exact->set_dtype(DType::Float64);
  mixed->build({T, I});
  const Tensor x = random_tensor({B, T, I}, 3), r = random_tensor({B, T, H}, 4);
  const MpRun got = mp_run(*mixed, x, mixed->get_weights(), r);
  const MpRun want = mp_run(*exact, x.to(DType::Float64), mp_converted(mixed->get_weights(), DType::Float64, false),
                            r.to(DType::Float64));
  const double tolerance = 4 * std::sqrt(double(T)) * std::ldexp(1.0, -8);
  const std::vector<std::pair<std::string, std::pair<Tensor, Tensor>>> compared = {
      {"output", {got.y, want.y}},
      {"input gradient", {got.gx, want.gx}},
      {"kernel gradient", {got.gw[0], want.gw[0]}},
      {"recurrent kernel gradient", {got.gw[1], want.gw[1]}}};
  for (const auto& [what, pair] : compared) {
    const double error = mp_norm_error(pair.first, pair.second);
    EXPECT_LT(error, tolerance) << what;
    EXPECT_GT(error, std::ldexp(1.0, -14)) << what << " looks computed in float32";
  }
}

INSTANTIATE_TEST_SUITE_P(Cells, MixedPrecisionRecurrent, ::testing::Values("LSTM", "GRU", "SimpleRNN"));

// MultiHeadAttention: four products deep (projections, Q K^T, weights times V, output), so
// by the reasoning above about sqrt(4) 2^-8; the check allows 4 times that.
TEST(MixedPrecisionAttention, ResultsAndGradientsNearFloat64) {
  if (!mixed_precision::native_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  auto mixed = std::make_shared<MultiHeadAttention>(2, 8), exact = std::make_shared<MultiHeadAttention>(2, 8);
  mixed->set_dtype_policy("mixed_bfloat16");
  exact->set_dtype(DType::Float64);
  mixed->build({7, 12});
  const Tensor x = random_tensor({3, 7, 12}, 5), r = random_tensor({3, 7, 12}, 6);
  const MpRun got = mp_run(*mixed, x, mixed->get_weights(), r);
  const MpRun want = mp_run(*exact, x.to(DType::Float64), mp_converted(mixed->get_weights(), DType::Float64, false),
                            r.to(DType::Float64));
  const double tolerance = 4 * 2 * std::ldexp(1.0, -8);
  EXPECT_LT(mp_norm_error(got.y, want.y), tolerance);
  EXPECT_GT(mp_norm_error(got.y, want.y), std::ldexp(1.0, -14));
  EXPECT_LT(mp_norm_error(got.gx, want.gx), tolerance);
  EXPECT_GT(mp_norm_error(got.gx, want.gx), std::ldexp(1.0, -14));
  const auto names = mixed->weights_in_keras_order();
  for (std::size_t i = 0; i < got.gw.size(); ++i) {
    if (names[i].name == "key/bias") {
      // Exactly zero: adding one vector to every key moves all of a query's scores by the same
      // amount, which the softmax ignores. bf16 leaves a rounding residue, small beside the kernel's.
      ASSERT_EQ(names[i - 1].name, "key/kernel");
      EXPECT_LT(std::sqrt(sum(got.gw[i] * got.gw[i]).item()),
                tolerance * std::sqrt(sum(want.gw[i - 1] * want.gw[i - 1]).item()));
      continue;
    }
    EXPECT_LT(mp_norm_error(got.gw[i], want.gw[i]), tolerance) << names[i].name;
  }
}

}  // namespace
}  // namespace kiln
