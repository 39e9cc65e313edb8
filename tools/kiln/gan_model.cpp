// The GAN's training step: a custom train_step that a user could write, on
// public API only — gradients flow through the discriminator into the
// generator, and each optimizer is applied to its own player's weights.
#include "gan.hpp"

namespace kiln::cli {
namespace {

// Freezes a model for a scope (Keras's discriminator.trainable = False):
// its weights stop requiring gradients, so backward computes none for them.
class Frozen {
 public:
  explicit Frozen(Model& model) : model_(model) { model_.set_trainable(false); }
  ~Frozen() { model_.set_trainable(true); }
  Frozen(const Frozen&) = delete;
  Frozen& operator=(const Frozen&) = delete;

 private:
  Model& model_;
};

}  // namespace

GAN::GAN(std::shared_ptr<Model> generator, std::shared_ptr<Model> discriminator, GanOptions options)
    : Model("gan"),
      generator_(std::move(generator)),
      discriminator_(std::move(discriminator)),
      options_(options),
      d_optimizer_(optim::AdamOptions{.learning_rate = options.d_learning_rate, .beta_1 = options.beta_1}),
      g_optimizer_(optim::AdamOptions{.learning_rate = options.g_learning_rate, .beta_1 = options.beta_1}),
      noise_generator_(options.seed) {}

std::vector<std::shared_ptr<layers::Layer>> GAN::layers() const {
  auto all = generator_->layers();
  for (const auto& l : discriminator_->layers()) all.push_back(l);
  return all;
}

Tensor GAN::noise(std::int64_t n) {
  std::vector<float> z(static_cast<std::size_t>(n * options_.latent_dim));
  for (auto& v : z) v = static_cast<float>(noise_generator_.normal());
  return Tensor::from_vector(z, {n, options_.latent_dim});
}

Tensor GAN::generate(const Tensor& z) {
  NoGradGuard no_grad;
  return (*generator_)(z, /*training=*/false);
}

Logs GAN::train_step(const data::Batch& batch) {
  const std::int64_t n = batch.x.size(0);
  const Tensor real = affine(batch.x, options_.input_scale, options_.input_shift);
  const Tensor real_labels = Tensor::full({n, 1}, options_.real_label);
  const Tensor ones = Tensor::ones({n, 1}), zeros = Tensor::zeros({n, 1});

  // Discriminator: real samples towards 1, generated ones towards 0. The
  // generated batch is detached: this step must not move the generator.
  const Tensor fake = (*generator_)(noise(n), /*training=*/true).detach();
  const Tensor d_loss = bce_(real_labels, (*discriminator_)(real, true)) + bce_(zeros, (*discriminator_)(fake, true));
  d_optimizer_.minimize(d_loss, discriminator_->trainable_weights());

  // Generator: make the discriminator call new samples real (the
  // non-saturating loss -log D(G(z))). The gradient flows through the frozen
  // discriminator into the generator's weights, the only ones updated.
  Tensor g_loss;
  {
    Frozen frozen(*discriminator_);
    g_loss = bce_(ones, (*discriminator_)((*generator_)(noise(n), true), true));
    g_optimizer_.minimize(g_loss, generator_->trainable_weights());
  }
  d_losses_.push_back(d_loss.item());
  g_losses_.push_back(g_loss.item());
  return {{"d_loss", d_losses_.back()}, {"g_loss", g_losses_.back()}};
}

}  // namespace kiln::cli
