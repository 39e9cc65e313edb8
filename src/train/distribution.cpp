// The process-wide distribution strategy (kiln/distribution.hpp).
#include "kiln/distribution.hpp"

#include <algorithm>

namespace kiln::distribution {
namespace {
std::shared_ptr<Strategy>& installed_strategy() {
  static std::shared_ptr<Strategy> s;
  return s;
}
}  // namespace

void set_strategy(std::shared_ptr<Strategy> strategy) { installed_strategy() = std::move(strategy); }

Strategy* strategy() { return installed_strategy().get(); }

Strategy* strategy_for(const Model& model) {
  Strategy* s = strategy();
  return s && s->covers(model) ? s : nullptr;
}

bool is_chief() { return strategy() == nullptr || strategy()->rank() == 0; }

std::pair<std::int64_t, std::int64_t> shard_rows(std::int64_t n, int rank, int world) {
  const std::int64_t base = n / world, extra = n % world, r = rank;
  const std::int64_t begin = r * base + std::min(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

}  // namespace kiln::distribution
