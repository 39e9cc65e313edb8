// Fixtures written by PyTorch (tests/fixtures/*.json, from the generator scripts
// there) and the comparison every parity test makes against them.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/tensor.hpp"

namespace kiln::testing {

class PyTorchFixture {
 public:
  // `file` under tests/fixtures; `generator` is the script that writes it (named in failures).
  PyTorchFixture(std::string file, std::string generator);
  const std::string& path() const { return path_; }
  // The parsed file, or a null value when it cannot be read.
  const nlohmann::json& json() const;
  // The cases of one section; a test failure (and no cases) when the file or the section is missing.
  std::vector<nlohmann::json> cases(const std::string& section) const;

 private:
  std::string path_, generator_;
};

// Elementwise: |actual - expected| <= tol * (1 + |expected|).
double parity_tolerance(DType dtype);
Tensor tensor_of(const nlohmann::json& j, DType dtype);  // {"shape": [...], "data": [...]}
Tensor int64_tensor_of(const nlohmann::json& j);
// Compares a tensor with a fixture tensor; reports the shape, or the first few differing
// elements and how many differ. The largest errors seen are printed at the end of the run.
void expect_close(const Tensor& actual, const nlohmann::json& expected, const std::string& what, DType dtype);

}  // namespace kiln::testing
