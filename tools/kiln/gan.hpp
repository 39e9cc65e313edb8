// kiln gan: generative adversarial networks written as a Kiln user would,
// with only the public headers (kiln/kiln.hpp): a Model subclass whose
// train_step plays the two players against each other, trained by fit().
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "kiln/kiln.hpp"

namespace kiln::cli {

struct GanSettings {
  std::string toy;  // "" (the DCGAN on Fashion-MNIST) or "ring8"
  int epochs = 0;   // 0: the example's default
  std::int64_t batch_size = 0;
  double lr = 0;
  std::int64_t latent_dim = 0;
  std::uint64_t seed = 0;
  int threads = 0;
  int verbose = -1;
  std::string out_dir;  // where samples, curves and CSV go ("" for the toy: none)
  std::string data_dir;
  std::int64_t train_samples = 0;  // 0: all
  int classifier_epochs = 2;
  std::int64_t score_samples = 2000;
  bool no_score = false;
};

struct GanOptions {
  std::int64_t latent_dim = 100;
  double d_learning_rate = 2e-4, g_learning_rate = 2e-4;
  double beta_1 = 0.5;         // DCGAN's Adam setting: a shorter memory keeps up with the moving target
  double real_label = 1.0;     // < 1 for one-sided label smoothing
  std::uint64_t seed = 0;      // of the latent noise
  // The data is scaled as x * input_scale + input_shift before the discriminator sees it
  // (pixels in [0, 1] to the generator's tanh range [-1, 1]).
  double input_scale = 1.0, input_shift = 0.0;
};

// The classic non-saturating GAN (Goodfellow et al. 2014; DCGAN, Radford et
// al. 2016). Each train_step takes one batch of real data and makes one
// discriminator step and one generator step.
class GAN : public Model {
 public:
  GAN(std::shared_ptr<Model> generator, std::shared_ptr<Model> discriminator, GanOptions options);

  Logs train_step(const data::Batch& batch) override;
  std::vector<std::shared_ptr<layers::Layer>> layers() const override;

  // Samples from the generator in inference mode (batch statistics frozen).
  Tensor generate(const Tensor& noise);
  // Standard normal latent vectors [n, latent_dim].
  Tensor noise(std::int64_t n);
  Model& generator() { return *generator_; }
  Model& discriminator() { return *discriminator_; }
  // Every step's losses, in order (fit shows epoch means; the curves want each step).
  const std::vector<double>& d_losses() const { return d_losses_; }
  const std::vector<double>& g_losses() const { return g_losses_; }

 private:
  std::shared_ptr<Model> generator_, discriminator_;
  GanOptions options_;
  optim::Adam d_optimizer_, g_optimizer_;
  losses::BinaryCrossentropy bce_{/*from_logits=*/true};
  Generator noise_generator_;
  std::vector<double> d_losses_, g_losses_;
};

int run_ring8(const GanSettings& settings);
int run_fashion_dcgan(const GanSettings& settings);

}  // namespace kiln::cli
