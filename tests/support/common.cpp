#include "support/common.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "kiln/random.hpp"

namespace kiln::testing {

Tensor random_tensor(const Shape& shape, std::uint64_t seed, DType dtype) {
  Generator gen(seed);
  std::vector<double> v(static_cast<std::size_t>(shape_numel(shape)));
  for (auto& x : v) x = gen.uniform(-1, 1);
  return Tensor::from_vector(v, shape).to(dtype);
}

std::vector<float> random_vector(std::size_t n, std::uint64_t seed) {
  Generator gen(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(gen.uniform(-1, 1));
  return v;
}

Tensor leaf(std::vector<double> values) { return Tensor::from_vector(values).set_requires_grad(); }

void expect_values(const Tensor& t, const std::vector<double>& expected, double tol) {
  const auto v = t.to_vector<double>();
  ASSERT_EQ(v.size(), expected.size()) << t.str();
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(v[i], expected[i], tol) << "element " << i;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.contiguous().raw_data(), b.contiguous().raw_data(), a.numel() * dtype_size(a.dtype())) == 0;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

int count_lines(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  const auto pos = t.rfind('\n');
  return pos == std::string::npos ? t : t.substr(pos + 1);
}

std::string isolated(const TempDir& home, const std::string& args) {
  return "cd " + home.path().string() + " && HOME=" + home.path().string() + " KILN_DATA= " + kCli + " " + args;
}

}  // namespace kiln::testing
