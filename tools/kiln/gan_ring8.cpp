// kiln gan --toy ring8: a GAN on eight Gaussians around a circle, the
// standard test of mode collapse (a generator that finds one mode and stays
// there fools a weak discriminator just as well). Small enough to train in
// seconds, so the test suite runs it.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numbers>

#include "gan.hpp"

namespace kiln::cli {
namespace {

using namespace kiln::layers;

constexpr int kModes = 8;
constexpr double kRadius = 2.0;
constexpr double kStd = 0.02;  // of each Gaussian, as in the unrolled-GAN paper (Metz et al. 2017)

double mode_x(int k) { return kRadius * std::cos(2 * std::numbers::pi * k / kModes); }
double mode_y(int k) { return kRadius * std::sin(2 * std::numbers::pi * k / kModes); }

Tensor ring_samples(std::int64_t n, Generator& gen) {
  std::vector<float> xy(static_cast<std::size_t>(2 * n));
  for (std::int64_t i = 0; i < n; ++i) {
    const int k = static_cast<int>(gen.below(kModes));
    xy[2 * i] = static_cast<float>(mode_x(k) + gen.normal(0.0, kStd));
    xy[2 * i + 1] = static_cast<float>(mode_y(k) + gen.normal(0.0, kStd));
  }
  return Tensor::from_vector(xy, {n, 2});
}

std::shared_ptr<Model> make_ring_generator(std::int64_t latent_dim) {
  const SymbolicTensor z = Input({latent_dim}, "z");
  SymbolicTensor h = Dense(128, "relu")(z);
  h = Dense(128, "relu")(h);
  return std::make_shared<Model>(z, Dense(2)(h), "generator");
}

// Twice the generator's width: with equal widths the generator drops one or
// two modes for some seeds; a stronger critic notices the missing ones.
std::shared_ptr<Model> make_ring_discriminator() {
  const SymbolicTensor point = Input({2}, "point");
  SymbolicTensor h = Dense(256, "relu")(point);
  h = Dense(256, "relu")(h);
  return std::make_shared<Model>(point, Dense(1)(h), "discriminator");  // a logit
}

// A point counts for a mode when it lies within 3 standard deviations of it;
// a mode is covered when at least 1% of the samples count for it (one stray
// point is not coverage).
struct Coverage {
  std::vector<std::int64_t> per_mode = std::vector<std::int64_t>(kModes, 0);
  std::int64_t samples = 0, near = 0;
  int covered(std::int64_t min_points) const {
    int k = 0;
    for (auto c : per_mode) k += c >= min_points;
    return k;
  }
};

Coverage measure(const Tensor& points) {
  Coverage c;
  const auto p = points.to_vector<float>();
  c.samples = points.size(0);
  for (std::int64_t i = 0; i < c.samples; ++i) {
    for (int k = 0; k < kModes; ++k) {
      if (std::hypot(p[2 * i] - mode_x(k), p[2 * i + 1] - mode_y(k)) <= 3 * kStd) {
        ++c.per_mode[k];
        ++c.near;
        break;
      }
    }
  }
  return c;
}

// Real points grey, generated ones blue, on a 400x400 canvas of [-3, 3]^2.
void write_scatter(const std::filesystem::path& path, const Tensor& real, const Tensor& fake) {
  const int size = 400;
  Tensor canvas = Tensor::full({size, size, 3}, 255, DType::UInt8);
  auto* px = canvas.data<std::uint8_t>();
  auto plot = [&](const Tensor& points, std::array<std::uint8_t, 3> color) {
    const auto v = points.to_vector<float>();
    for (std::size_t i = 0; i + 1 < v.size(); i += 2) {
      const int x = static_cast<int>((v[i] + 3.0) / 6.0 * size), y = static_cast<int>((3.0 - v[i + 1]) / 6.0 * size);
      for (int dy = -1; dy <= 1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) {
          if (x + dx < 0 || y + dy < 0 || x + dx >= size || y + dy >= size) continue;
          std::copy(color.begin(), color.end(), px + ((y + dy) * size + x + dx) * 3);
        }
      }
    }
  };
  plot(real, {170, 170, 170});
  plot(fake, {31, 119, 180});
  io::write_png(path, canvas);
}

}  // namespace

int run_ring8(const GanSettings& s) {
  set_num_threads(s.threads);
  manual_seed(s.seed);
  const int epochs = s.epochs > 0 ? s.epochs : 40;
  const std::int64_t batch_size = s.batch_size > 0 ? s.batch_size : 256;
  const std::int64_t latent_dim = s.latent_dim > 0 ? s.latent_dim : 16;
  const double lr = s.lr > 0 ? s.lr : 1e-3;
  const std::int64_t n = s.train_samples > 0 ? s.train_samples : 32768;

  Generator data_gen(s.seed ^ 0x9e3779b97f4a7c15ULL);
  const Tensor data = ring_samples(n, data_gen);
  GAN gan(make_ring_generator(latent_dim), make_ring_discriminator(),
          {.latent_dim = latent_dim, .d_learning_rate = lr, .g_learning_rate = lr, .seed = s.seed});
  std::cout << "Ring of " << kModes << " Gaussians (radius " << kRadius << ", std " << kStd << "): " << n
            << " points; generator " << gan.generator().count_params() << " and discriminator "
            << gan.discriminator().count_params() << " parameters\n";
  gan.fit(data::Dataset(data), {.epochs = epochs, .batch_size = batch_size, .verbose = s.verbose, .seed = s.seed});

  const std::int64_t samples = 2000;
  const Tensor generated = gan.generate(gan.noise(samples));
  const Coverage c = measure(generated);
  const std::int64_t min_points = samples / 100;
  std::cout << "Samples within 3 std of a mode: " << c.near << "/" << samples << "; per mode:";
  for (auto count : c.per_mode) std::cout << " " << count;
  std::cout << " (a mode counts as covered with at least " << min_points << ")\n";
  if (!s.out_dir.empty()) {
    const std::filesystem::path path = std::filesystem::path(s.out_dir) / "ring8.png";
    write_scatter(path, data.slice(0, samples), generated);
    std::cout << "Wrote " << path.string() << "\n";
  }
  std::cout << "modes covered: " << c.covered(min_points) << "/" << kModes << std::endl;
  return 0;
}

}  // namespace kiln::cli
