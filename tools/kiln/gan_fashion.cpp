// kiln gan: a DCGAN (Radford et al. 2016) that learns to draw Fashion-MNIST
// clothes, in the shape of TensorFlow's DCGAN tutorial, narrowed to train in
// minutes on two cores:
//   generator      z[100] -> Dense 7x7x128 -> BN -> LeakyReLU -> Reshape
//                  -> Conv2DTranspose 64, 4x4, stride 2 -> BN -> LeakyReLU   (14x14)
//                  -> Conv2DTranspose 1, 4x4, stride 2, tanh                  (28x28)
//   discriminator  28x28x1 -> Conv2D 64, 4x4, stride 2 -> LeakyReLU
//                  -> Conv2D 128, 4x4, stride 2 -> LeakyReLU -> Flatten -> Dense 1 (a logit)
// (Half these widths trains twice as fast but scores clearly lower after 5
// epochs; a wider discriminator alone did not help.)
// After every epoch it writes a grid of samples from the same 64 noise
// vectors, and the players' losses (CSV and a chart). At the end a
// classifier Kiln trains on Fashion-MNIST scores the samples next to real
// test images.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "command.hpp"
#include "dataset_choice.hpp"
#include "gan.hpp"

namespace kiln::cli {
namespace {

using namespace kiln::layers;

std::shared_ptr<Model> make_generator(std::int64_t latent_dim) {
  const SymbolicTensor z = Input({latent_dim}, "z");
  SymbolicTensor h = Dense(7 * 7 * 128, DenseOptions{.use_bias = false})(z);
  h = LeakyReLU(0.2)(BatchNormalization()(h));
  h = Reshape({7, 7, 128})(h);
  h = Conv2DTranspose(64, 4, {.strides = 2, .padding = "same", .use_bias = false})(h);
  h = LeakyReLU(0.2)(BatchNormalization()(h));
  const SymbolicTensor image = Conv2DTranspose(1, 4, {.strides = 2, .padding = "same", .activation = "tanh"})(h);
  return std::make_shared<Model>(z, image, "generator");
}

std::shared_ptr<Model> make_discriminator() {
  const SymbolicTensor image = Input({28, 28, 1}, "image");
  SymbolicTensor h = LeakyReLU(0.2)(Conv2D(64, 4, {.strides = 2, .padding = "same"})(image));
  h = LeakyReLU(0.2)(Conv2D(128, 4, {.strides = 2, .padding = "same"})(h));
  return std::make_shared<Model>(image, Dense(1)(Flatten()(h)), "discriminator");
}

// Generator output in [-1, 1] as pixels in [0, 1].
Tensor to_unit(const Tensor& x) { return affine(x, 0.5, 0.5); }

// The mean of each window of `w` values ending at i (shorter at the start): smooths per-step losses.
std::vector<double> moving_average(const std::vector<double>& v, std::size_t w) {
  std::vector<double> out(v.size());
  double sum = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    sum += v[i];
    if (i >= w) sum -= v[i - w];
    out[i] = sum / double(std::min(i + 1, w));
  }
  return out;
}

// Writes, after each epoch: samples_epoch_NNN.png, losses.csv and losses.png.
class Reporter : public Callback {
 public:
  Reporter(GAN& gan, std::filesystem::path dir, Tensor fixed_noise, std::int64_t steps_per_epoch)
      : gan_(gan), dir_(std::move(dir)), noise_(std::move(fixed_noise)), steps_per_epoch_(steps_per_epoch) {}

  void on_epoch_end(Model&, int epoch, const Logs&) override {
    char name[64];
    std::snprintf(name, sizeof name, "samples_epoch_%03d.png", epoch + 1);
    last_grid_ = dir_ / name;
    // Twice the size (each pixel a 2x2 block), so 28x28 samples are easy to look at.
    const Tensor images = upsample2d_nearest(to_unit(gan_.generate(noise_)), 2, 2);
    io::write_png(last_grid_, io::image_grid(images, {.columns = 8, .padding = 2, .padding_value = 0.5}));
    std::ostringstream csv;
    csv << "step,epoch,d_loss,g_loss\n";
    const auto& d = gan_.d_losses();
    const auto& g = gan_.g_losses();
    for (std::size_t i = 0; i < d.size(); ++i) {
      csv << i + 1 << "," << double(i + 1) / double(steps_per_epoch_) << "," << d[i] << "," << g[i] << "\n";
    }
    io::write_file_atomically(dir_ / "losses.csv", csv.str());
    const std::size_t window = std::max<std::size_t>(1, std::min<std::size_t>(50, d.size() / 10 + 1));
    io::write_line_plot(dir_ / "losses.png",
                        {{"discriminator", moving_average(d, window)}, {"generator", moving_average(g, window)}},
                        {.title = "DCGAN losses (mean of " + std::to_string(window) + " steps)",
                         .x_label = "epoch",
                         .x_start = 1.0 / double(steps_per_epoch_),
                         .x_step = 1.0 / double(steps_per_epoch_)});
    std::cout << "Wrote " << last_grid_.string() << ", losses.csv and losses.png\n" << std::flush;
  }
  const std::filesystem::path& last_grid() const { return last_grid_; }

 private:
  GAN& gan_;
  std::filesystem::path dir_;
  Tensor noise_;
  std::int64_t steps_per_epoch_;
  std::filesystem::path last_grid_;
};

// What a classifier makes of a set of images: how sure it is of each one
// (mean top probability), how spread its answers are over the ten classes
// (entropy of the mean prediction, at most ln 10 = 2.303), and the two
// combined as in the Inception Score, exp(E_x KL(p(y|x) || p(y))) (at most 10).
struct Scores {
  double confidence = 0, class_entropy = 0, inception_like = 0;
  std::vector<double> class_share;  // of the argmax predictions
};

Scores score(const Tensor& probabilities) {
  const std::int64_t n = probabilities.size(0), k = probabilities.size(1);
  const auto p = probabilities.to_vector<double>();
  Scores s;
  std::vector<double> mean(static_cast<std::size_t>(k), 0.0);
  s.class_share.assign(static_cast<std::size_t>(k), 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t best = 0;
    for (std::int64_t c = 0; c < k; ++c) {
      mean[c] += p[i * k + c] / double(n);
      if (p[i * k + c] > p[i * k + best]) best = c;
    }
    s.confidence += p[i * k + best] / double(n);
    s.class_share[best] += 1.0 / double(n);
  }
  double kl = 0;
  for (std::int64_t c = 0; c < k; ++c) {
    if (mean[c] > 0) s.class_entropy -= mean[c] * std::log(mean[c]);
    for (std::int64_t i = 0; i < n; ++i) {
      const double q = p[i * k + c];
      if (q > 0) kl += q * (std::log(q) - std::log(mean[c])) / double(n);
    }
  }
  s.inception_like = std::exp(kl);
  return s;
}

void print_scores(const std::string& label, const Scores& s) {
  std::printf("  %-18s %15.4f %26.4f %24.3f\n", label.c_str(), s.confidence, s.class_entropy, s.inception_like);
}

}  // namespace

int run_fashion_dcgan(const GanSettings& s) {
  set_num_threads(s.threads);
  manual_seed(s.seed);
  const int epochs = s.epochs > 0 ? s.epochs : 5;
  const std::int64_t batch_size = s.batch_size > 0 ? s.batch_size : 64;
  const std::int64_t latent_dim = s.latent_dim > 0 ? s.latent_dim : 100;
  const double lr = s.lr > 0 ? s.lr : 2e-4;
  const std::filesystem::path out = s.out_dir.empty() ? "gan_out" : s.out_dir;
  std::filesystem::create_directories(out);

  datasets::LoadOptions load;
  if (!s.data_dir.empty()) load.data_dir = s.data_dir;
  const auto data = datasets::fashion_mnist::load_data(load);
  const auto train = head(data.train, s.train_samples);
  std::cout << "Dataset: Fashion-MNIST, " << train.images.size(0) << " training images of shape [28, 28, 1]\n";

  GAN gan(make_generator(latent_dim), make_discriminator(),
          {.latent_dim = latent_dim,
           .d_learning_rate = lr,
           .g_learning_rate = lr,
           .seed = s.seed,
           .input_scale = 2.0,  // pixels in [0, 1] (the dataset's rescale) to tanh's [-1, 1]
           .input_shift = -1.0});
  gan.generator().summary();
  gan.discriminator().summary();
  const Tensor fixed_noise = gan.noise(64);
  const std::int64_t steps = (train.images.size(0) + batch_size - 1) / batch_size;
  auto reporter = std::make_shared<Reporter>(gan, out, fixed_noise, steps);
  gan.fit(data::Dataset(train.images).rescale(1.0 / 255),
          {.epochs = epochs, .batch_size = batch_size, .verbose = s.verbose, .seed = s.seed, .callbacks = {reporter}});
  std::cout << "Samples after " << epochs << " epoch" << (epochs == 1 ? "" : "s") << ": "
            << reporter->last_grid().string() << "\n";

  if (!s.no_score) {
    // The judge: the article's CNN, trained here on the same training images.
    std::cout << "Training a Fashion-MNIST classifier to score the samples (" << s.classifier_epochs
              << " epoch" << (s.classifier_epochs == 1 ? "" : "s") << ")\n";
    Sequential classifier = zoo::article_cnn({28, 28, 1});
    classifier.compile(optim::Adam(1e-3), losses::SparseCategoricalCrossentropy(), {"accuracy"});
    const auto train_ds = data::Dataset(train.images, train.labels).rescale(1.0 / 255);
    const auto test_ds = data::Dataset(data.test.images, data.test.labels).rescale(1.0 / 255);
    classifier.fit(train_ds, {.epochs = s.classifier_epochs, .batch_size = 64, .verbose = s.verbose, .seed = s.seed});
    const double accuracy = classifier.evaluate(test_ds, {.batch_size = 256, .verbose = 0}).at("accuracy");

    const std::int64_t n = std::min<std::int64_t>(s.score_samples, data.test.images.size(0));
    const Tensor real = classifier.predict(test_ds.subset(0, n), {.batch_size = 256});
    std::vector<Tensor> parts;
    for (std::int64_t done = 0; done < n; done += 500) {
      parts.push_back(to_unit(gan.generate(gan.noise(std::min<std::int64_t>(500, n - done)))));
    }
    const Tensor fake = classifier.predict(concat(parts, 0), {.batch_size = 256});
    const Scores real_scores = score(real), fake_scores = score(fake);
    std::printf("Quality scores from a classifier Kiln trained on Fashion-MNIST (test accuracy %.4f), %lld images each:\n",
                accuracy, static_cast<long long>(n));
    std::printf("  %-18s %15s %26s %24s\n", "", "mean confidence", "class entropy (max 2.303)", "inception-like (max 10)");
    print_scores("real test images", real_scores);
    print_scores("generated images", fake_scores);
    std::printf("  generated images by class:");
    const auto& names = datasets::fashion_mnist::class_names();
    for (std::size_t c = 0; c < names.size(); ++c) std::printf(" %s %.0f%%%s", names[c].c_str(), 100 * fake_scores.class_share[c], c + 1 < names.size() ? "," : "\n");
  }
  std::printf("Peak memory: %.0f MB\n", peak_rss_mb());
  return 0;
}

}  // namespace kiln::cli
