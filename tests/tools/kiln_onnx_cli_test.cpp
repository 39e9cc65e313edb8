// kiln export, kiln import and kiln predict (tools/kiln/{export,import,predict}_command.cpp).
#include <gtest/gtest.h>

#include "kiln/kiln.hpp"
#include "support/process.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::kCli;

using testing::run_command;
double max_abs_difference(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  const auto x = a.to_vector<float>(), y = b.to_vector<float>();
  double worst = 0;
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) worst = std::max(worst, double(std::abs(x[i] - y[i])));
  return worst;
}

TEST(KilnOnnxCli, ExportImportAndPredictAgreeWithTheModel) {
  testing::TempDir dir;
  const auto d = dir.path().string();
  auto model = zoo::article_cnn({20, 20, 1}, 4);
  model.save(dir.path() / "model.safetensors");
  const Tensor x = random::uniform({3, 20, 20, 1}, 0, 1, 5);
  io::write_npy(x, dir.path() / "x.npy");
  const Tensor expected = model.predict(x);

  auto r = run_command(kCli + " export " + d + "/model.safetensors " + d + "/model.onnx 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("(ONNX opset 17, "), std::string::npos) << r.output;
  r = run_command(kCli + " import " + d + "/model.onnx " + d + "/imported.safetensors 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("input [20, 20, 1]"), std::string::npos) << r.output;

  for (const std::string m : {"imported.safetensors", "model.onnx", "model.safetensors"}) {
    r = run_command(kCli + " predict " + d + "/" + m + " --input " + d + "/x.npy --output " + d + "/y.npy 2>&1");
    ASSERT_EQ(r.exit_code, 0) << m << ": " << r.output;
    EXPECT_NE(r.output.find("y.npy [3, 4]"), std::string::npos) << r.output;
    EXPECT_LE(max_abs_difference(io::read_npy(dir.path() / "y.npy"), expected), 1e-6) << m;
  }
}

TEST(KilnOnnxCli, PredictNamesAnInputThatDoesNotFit) {
  testing::TempDir dir;
  const auto d = dir.path().string();
  auto model = zoo::article_cnn({20, 20, 1}, 4);
  export_onnx(model, dir.path() / "model.onnx");
  io::write_npy(Tensor::zeros({2, 20, 20, 3}), dir.path() / "rgb.npy");
  auto r = run_command(kCli + " predict " + d + "/model.onnx --input " + d + "/rgb.npy 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("rgb.npy: samples of shape [20, 20, 3] (after the batch axis); the model's input 0 takes "
                          "[20, 20, 1]"),
            std::string::npos)
      << r.output;
  r = run_command(kCli + " export " + d + "/missing.safetensors " + d + "/m.onnx 2>&1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

}  // namespace
}  // namespace kiln
