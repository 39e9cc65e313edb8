// Seeded random numbers. Kiln draws every random value (initial weights,
// dropout masks, shuffling) from a Generator so that a seed fixes a run.
#pragma once
#include <array>
#include <cstdint>
#include <optional>

#include "kiln/tensor.hpp"

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

  // Everything that decides the numbers to come (for checkpoints): a generator
  // given another's state continues its sequence exactly.
  struct State {
    std::array<std::uint64_t, 4> s{};
    bool has_spare = false;
    double spare = 0.0;
    bool operator==(const State&) const = default;
  };
  State state() const { return {{s_[0], s_[1], s_[2], s_[3]}, has_spare_, spare_}; }
  void set_state(const State& state);

 private:
  std::uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// The generator used when none is passed explicitly.
Generator& default_generator();
// Re-seeds the default generator (like torch.manual_seed / keras.utils.set_random_seed).
void manual_seed(std::uint64_t seed);

// Random tensors, as keras.random: with a seed the same values on every call and platform;
// without one, drawn from (and advancing) the default generator, which manual_seed fixes.
namespace random {

Tensor normal(const Shape& shape, double mean = 0.0, double stddev = 1.0, std::optional<std::uint64_t> seed = {},
              DType dtype = DType::Float32);
// Uniform in [minval, maxval).
Tensor uniform(const Shape& shape, double minval = 0.0, double maxval = 1.0, std::optional<std::uint64_t> seed = {},
               DType dtype = DType::Float32);
// Integers uniform in [minval, maxval); dtype int32 or int64.
Tensor randint(const Shape& shape, std::int64_t minval, std::int64_t maxval, std::optional<std::uint64_t> seed = {},
               DType dtype = DType::Int32);
// A copy of x with its entries along `axis` in a random order (every permutation equally likely).
Tensor shuffle(const Tensor& x, int axis = 0, std::optional<std::uint64_t> seed = {});

}  // namespace random
}  // namespace kiln
