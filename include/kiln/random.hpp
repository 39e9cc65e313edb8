// Seeded random numbers. Kiln draws every random value (initial weights,
// dropout masks, shuffling) from a Generator so that a seed fixes a run.
#pragma once
#include <cstdint>

namespace kiln {

// xoshiro256++: small, fast, and the same sequence on every platform
// (std::*_distribution are not, so Kiln does its own conversions).
class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0) { seed_with(seed); }
  void seed_with(std::uint64_t seed);
  std::uint64_t next_u64();
  double uniform();                      // [0, 1)
  double uniform(double low, double high);
  double normal(double mean = 0.0, double stddev = 1.0);
  std::uint64_t below(std::uint64_t n);  // uniform integer in [0, n)

 private:
  std::uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// The generator used when none is passed explicitly.
Generator& default_generator();
// Re-seeds the default generator (like torch.manual_seed / keras.utils.set_random_seed).
void manual_seed(std::uint64_t seed);

}  // namespace kiln
