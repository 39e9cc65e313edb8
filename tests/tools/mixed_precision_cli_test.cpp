// kiln train --precision bf16: the policy of every layer, what the run folder records,
// --resume, and the float32 fallback (with its notice) on CPUs without native bf16.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "kiln/io/files.hpp"
#include "kiln/kiln.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using testing::isolated;
using testing::run_command;
using testing::TempDir;

std::string mp_cifar_args(const TempDir& data) {
  return "train --dataset cifar10 --no-download --batch-size 16 --seed 3 --data " + data.path().string();
}

TEST(MixedPrecisionCli, TrainsInBf16AndResumesInIt) {
  TempDir home, data;
  testing::write_tiny_cifar10(data.path(), 10);
  auto r = run_command(isolated(home, mp_cifar_args(data) + " --epochs 1 --verbose 2 --precision bf16 --out run"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const bool native = mixed_precision::native_bf16();
  EXPECT_TRUE(testing::contains(r.output, native ? "Precision: mixed_bfloat16 (float32 weights; convolutions and "
                                                   "matrix products in bf16)"
                                                 : "in float32 on this CPU"))
      << r.output;
  const fs::path run = home.path() / "run";
  auto config = nlohmann::json::parse(io::read_file(run / "config.json", 1 << 20));
  EXPECT_EQ(config.at("settings").at("precision"), "bf16");
  const auto model = load_model(run / "model.safetensors");
  for (const auto& layer : model->layers()) {
    EXPECT_EQ(layer->dtype_policy().name(), "mixed_bfloat16") << layer->name();
    for (const auto& w : layer->weights()) EXPECT_EQ(w.value.dtype(), DType::Float32);
  }

  // A run stopped after epoch 1 of 2 (its recorded epochs raised by hand) continues in bf16.
  config["settings"]["epochs"] = 2;
  io::write_file_atomically(run / "config.json", config.dump(2));
  r = run_command(isolated(home, "train --resume run --verbose 2 --no-download --data " + data.path().string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(testing::contains(r.output, "Resuming run after epoch 1 of 2")) << r.output;
  EXPECT_TRUE(testing::contains(r.output, "Precision: mixed_bfloat16")) << r.output;
  for (const auto& layer : load_model(run / "model.safetensors")->layers()) {
    EXPECT_EQ(layer->dtype_policy().name(), "mixed_bfloat16") << layer->name();
  }

  r = run_command(isolated(home, mp_cifar_args(data) + " --epochs 1 --precision fp16 --out other"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(testing::contains(r.output, "--precision")) << r.output;
}

// oneDNN reads DNNL_MAX_CPU_ISA once, so a child process stands in for a CPU without AVX512-BF16.
TEST(MixedPrecisionCli, FallsBackToFloat32WithANoticeWithoutNativeBf16) {
  TempDir home, data;
  testing::write_tiny_cifar10(data.path(), 10);
  const auto r = run_command("export DNNL_MAX_CPU_ISA=AVX512_CORE && " +
                             isolated(home, mp_cifar_args(data) + " --epochs 1 --verbose 2 --precision bf16"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(testing::contains(r.output,
                                "kiln: this CPU has no native bf16 arithmetic (AVX512-BF16 or AMX); the "
                                "mixed_bfloat16 policy computes in float32 (emulated bf16 would be slower)\n"))
      << r.output;
  EXPECT_TRUE(testing::contains(r.output, "convolutions and matrix products in float32 on this CPU")) << r.output;
  EXPECT_TRUE(testing::contains(r.output, "Test accuracy: ")) << r.output;
}

}  // namespace
}  // namespace kiln
