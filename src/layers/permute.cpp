#include "kiln/layers/permute.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {
namespace {

std::string dims_str(const std::vector<int>& dims) {
  std::string s;
  for (int d : dims) s += (s.empty() ? "" : ", ") + std::to_string(d);
  return "(" + s + ")";
}

}  // namespace

Permute::Permute(std::vector<int> dims, std::string name)
    : Layer(name.empty() ? unique_name("permute") : name, "Permute"), dims_(std::move(dims)) {
  std::vector<int> sorted = dims_;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i] != static_cast<int>(i) + 1) {
      throw Error(describe() + ": dims " + dims_str(dims_) + " must be a permutation of 1.." +
                  std::to_string(dims_.size()) + " (the batch axis is not permuted)");
    }
  }
}

Shape Permute::compute_output_shape(const Shape& in) const {
  if (in.size() != dims_.size()) {
    throw Error(describe() + ": dims " + dims_str(dims_) + " permute " + std::to_string(dims_.size()) +
                " axes, but inputs [batch, " + (in.empty() ? std::string("]") : shape_str(in).substr(1)) + " have " +
                std::to_string(in.size()));
  }
  Shape out;
  for (int d : dims_) out.push_back(in[static_cast<std::size_t>(d - 1)]);
  return out;
}

nlohmann::json Permute::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["dims"] = dims_;
  return c;
}

// A permutation is a product of swaps: put the right axis in each place in turn.
Tensor Permute::forward(const Tensor& x, bool) {
  std::vector<int> where(dims_.size() + 1);  // where[a]: the current position of input axis a
  std::vector<int> at(dims_.size() + 1);     // at[p]: the input axis now at position p
  for (std::size_t a = 0; a < where.size(); ++a) where[a] = at[a] = static_cast<int>(a);
  Tensor y = x;
  for (std::size_t p = 1; p < at.size(); ++p) {
    const int wanted = dims_[p - 1];
    const int from = where[static_cast<std::size_t>(wanted)];
    if (from == static_cast<int>(p)) continue;
    y = transpose(y, static_cast<int>(p), from);
    const int displaced = at[p];
    std::swap(at[p], at[static_cast<std::size_t>(from)]);
    where[static_cast<std::size_t>(wanted)] = static_cast<int>(p);
    where[static_cast<std::size_t>(displaced)] = from;
  }
  return y;
}

}  // namespace kiln::layers
