// Small helpers many test files share. They live here, not in each file, because
// the suite is compiled as a unity build: two files' private helpers of one name
// would meet in one translation unit.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kiln/tensor.hpp"
#include "support/process.hpp"

namespace kiln::testing {

// The kiln program of this build.
inline const std::string kCli = KILN_CLI_PATH;
// Debian's Fashion-MNIST training images (dataset-fashion-mnist); tests that need them skip without.
inline constexpr const char* kFashionTrainImages = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

// Uniform in [-1, 1) from Generator(seed), drawn in double and converted to `dtype`.
Tensor random_tensor(const Shape& shape, std::uint64_t seed, DType dtype = DType::Float32);
std::vector<float> random_vector(std::size_t n, std::uint64_t seed);

// A leaf (float64) that records gradients.
Tensor leaf(std::vector<double> values);

// Every element of `t` within `tol` of `expected` (and as many of them).
void expect_values(const Tensor& t, const std::vector<double>& expected, double tol = 1e-6);
// Same dtype, shape and bytes.
bool same_bits(const Tensor& a, const Tensor& b);

bool contains(const std::string& text, const std::string& part);
int count_lines(const std::string& text);
std::string last_line(const std::string& text);  // without its newline; trailing newlines ignored

// A shell command running kiln in an empty HOME, from inside it (so runs/ lands there), without KILN_DATA.
std::string isolated(const TempDir& home, const std::string& args);

}  // namespace kiln::testing
