#include "support/parity.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>

namespace kiln::testing {
namespace {

using nlohmann::json;

// The largest errors seen, per dtype, printed once at the end of the run.
struct Worst {
  double abs = 0, scaled = 0;  // scaled: |actual - expected| / (1 + |expected|)
  std::string where;
  bool seen = false;
};
Worst& worst(DType dtype) {
  static Worst w64, w32;
  return dtype == DType::Float64 ? w64 : w32;
}

class ParitySummary : public ::testing::Environment {
 public:
  void TearDown() override {
    for (DType d : {DType::Float64, DType::Float32}) {
      const Worst& w = worst(d);
      if (!w.seen) continue;
      std::printf("[ parity   ] %s: largest |error| %.3g, largest |error|/(1+|expected|) %.3g (%s)\n", dtype_name(d),
                  w.abs, w.scaled, w.where.c_str());
    }
  }
};
[[maybe_unused]] ::testing::Environment* const kSummary = ::testing::AddGlobalTestEnvironment(new ParitySummary);

}  // namespace

PyTorchFixture::PyTorchFixture(std::string file, std::string generator)
    : path_(std::string(KILN_TEST_FIXTURES) + "/" + file), generator_(std::move(generator)) {}

const json& PyTorchFixture::json() const {
  // Parsed once per file for the whole run.
  static std::mutex mutex;
  static std::map<std::string, nlohmann::json> parsed;
  std::lock_guard lock(mutex);
  auto it = parsed.find(path_);
  if (it == parsed.end()) {
    std::ifstream in(path_);
    it = parsed.emplace(path_, in ? nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false) : nlohmann::json())
             .first;
  }
  return it->second;
}

std::vector<json> PyTorchFixture::cases(const std::string& section) const {
  const nlohmann::json& f = json();
  if (!f.is_object()) {
    ADD_FAILURE() << "cannot read the PyTorch fixture " << path_ << "; regenerate it with tests/fixtures/"
                  << generator_;
    return {};
  }
  if (!f.contains(section) || !f[section].is_array() || f[section].empty()) {
    ADD_FAILURE() << path_ << " has no \"" << section << "\" cases; regenerate it with tests/fixtures/" << generator_;
    return {};
  }
  return f[section].get<std::vector<nlohmann::json>>();
}

double parity_tolerance(DType dtype) { return dtype == DType::Float64 ? 1e-10 : 1e-4; }

Tensor tensor_of(const json& j, DType dtype) {
  const auto shape = j.at("shape").get<Shape>();  // [] is a scalar (from_vector alone would give [1])
  return Tensor::from_vector<double>(j.at("data").get<std::vector<double>>(), shape).reshape(shape).to(dtype);
}

Tensor int64_tensor_of(const json& j) {
  return Tensor::from_vector<std::int64_t>(j.at("data").get<std::vector<std::int64_t>>(), j.at("shape").get<Shape>());
}

void expect_close(const Tensor& actual, const json& expected, const std::string& what, DType dtype) {
  if (!actual.defined()) {
    ADD_FAILURE() << what << ": Kiln produced no tensor (no gradient reached it?)";
    return;
  }
  const auto shape = expected.at("shape").get<Shape>();
  if (actual.shape() != shape) {
    ADD_FAILURE() << what << ": shape " << shape_str(actual.shape()) << ", PyTorch's is " << shape_str(shape);
    return;
  }
  const auto a = actual.to_vector<double>();
  const auto e = expected.at("data").get<std::vector<double>>();
  const double tol = parity_tolerance(dtype);
  Worst& w = worst(dtype);
  int bad = 0;
  std::string report;
  for (std::size_t i = 0; i < e.size(); ++i) {
    const double err = std::abs(a[i] - e[i]);
    const double scaled = err / (1.0 + std::abs(e[i]));
    if (!(scaled <= tol) && ++bad <= 5) {  // (also catches NaN)
      char line[128];
      std::snprintf(line, sizeof line, "\n  [%zu] kiln %.17g, pytorch %.17g, |error| %.3g", i, a[i], e[i], err);
      report += line;
    }
    w.seen = true;
    w.abs = std::max(w.abs, err);
    if (scaled > w.scaled) {
      w.scaled = scaled;
      w.where = std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ", " + what;
    }
  }
  if (bad > 0) {
    ADD_FAILURE() << what << " (" << dtype_name(dtype) << "): " << bad << " of " << e.size()
                  << " elements differ from PyTorch by more than " << tol << " * (1 + |expected|):" << report;
  }
}

}  // namespace kiln::testing
