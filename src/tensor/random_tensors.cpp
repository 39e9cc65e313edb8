// kiln::random: tensors of random values (keras.random.normal, uniform, randint, shuffle).
#include <cstring>
#include <numeric>
#include <string>

#include "kiln/error.hpp"
#include "kiln/random.hpp"

namespace kiln::random {
namespace {

// A seed gives a fresh generator of its own (the same values on every call), as Keras's
// integer seeds do; without one the default generator is drawn from.
template <typename Fill>
Tensor generate(const Shape& shape, DType dtype, std::optional<std::uint64_t> seed, Fill fill) {
  Tensor out = Tensor::empty(shape, dtype);
  Generator local(seed.value_or(0));
  Generator& g = seed ? local : default_generator();
  const std::int64_t n = out.numel();
  if (dtype == DType::Float32) {
    float* p = out.data<float>();
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(fill(g));
  } else {
    double* p = out.data<double>();
    for (std::int64_t i = 0; i < n; ++i) p[i] = fill(g);
  }
  return out;
}

void check_floating(const char* what, DType dtype) {
  if (!is_floating(dtype)) {
    throw Error(std::string("kiln::random::") + what + ": dtype must be float32 or float64, got " + dtype_name(dtype));
  }
}

}  // namespace

Tensor normal(const Shape& shape, double mean, double stddev, std::optional<std::uint64_t> seed, DType dtype) {
  check_floating("normal", dtype);
  if (!(stddev >= 0.0)) throw Error("kiln::random::normal: stddev must be >= 0, got " + std::to_string(stddev));
  return generate(shape, dtype, seed, [&](Generator& g) { return g.normal(mean, stddev); });
}

Tensor uniform(const Shape& shape, double minval, double maxval, std::optional<std::uint64_t> seed, DType dtype) {
  check_floating("uniform", dtype);
  if (!(minval < maxval)) {
    throw Error("kiln::random::uniform: minval must be below maxval, got minval " + std::to_string(minval) +
                " and maxval " + std::to_string(maxval));
  }
  return generate(shape, dtype, seed, [&](Generator& g) { return g.uniform(minval, maxval); });
}

Tensor randint(const Shape& shape, std::int64_t minval, std::int64_t maxval, std::optional<std::uint64_t> seed,
               DType dtype) {
  if (dtype != DType::Int32 && dtype != DType::Int64) {
    throw Error(std::string("kiln::random::randint: dtype must be int32 or int64, got ") + dtype_name(dtype));
  }
  if (minval >= maxval) {
    throw Error("kiln::random::randint: minval must be below maxval, got minval " + std::to_string(minval) +
                " and maxval " + std::to_string(maxval));
  }
  if (dtype == DType::Int32 && (minval < INT32_MIN || maxval - 1 > INT32_MAX)) {
    throw Error("kiln::random::randint: [" + std::to_string(minval) + ", " + std::to_string(maxval) +
                ") does not fit in int32; ask for dtype int64");
  }
  Tensor out = Tensor::empty(shape, dtype);
  Generator local(seed.value_or(0));
  Generator& g = seed ? local : default_generator();
  const auto range = static_cast<std::uint64_t>(maxval) - static_cast<std::uint64_t>(minval);
  const std::int64_t n = out.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    const auto v = static_cast<std::int64_t>(static_cast<std::uint64_t>(minval) + g.below(range));
    if (dtype == DType::Int32) {
      out.data<std::int32_t>()[i] = static_cast<std::int32_t>(v);
    } else {
      out.data<std::int64_t>()[i] = v;
    }
  }
  return out;
}

Tensor shuffle(const Tensor& x, int axis, std::optional<std::uint64_t> seed) {
  if (!x.defined()) throw Error("kiln::random::shuffle: the tensor is undefined");
  if (x.ndim() == 0) throw Error("kiln::random::shuffle: a scalar has no axis to shuffle");
  axis = normalize_axis(axis, x.ndim(), "kiln::random::shuffle");
  const Tensor src = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  const Shape& shape = x.shape();
  const std::int64_t n = shape[axis];
  const std::int64_t outer = shape_numel(Shape(shape.begin(), shape.begin() + axis));
  const std::int64_t inner = shape_numel(Shape(shape.begin() + axis + 1, shape.end()));
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  Generator local(seed.value_or(0));
  Generator& g = seed ? local : default_generator();
  // Fisher-Yates, as fit() shuffles.
  for (std::int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[g.below(std::uint64_t(i + 1))]);
  const std::size_t block = static_cast<std::size_t>(inner) * dtype_size(x.dtype());
  const auto* from = static_cast<const char*>(src.raw_data());
  auto* to = static_cast<char*>(out.raw_data());
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t i = 0; i < n; ++i) {
      std::memcpy(to + (o * n + i) * block, from + (o * n + order[i]) * block, block);
    }
  }
  return out;
}

}  // namespace kiln::random
