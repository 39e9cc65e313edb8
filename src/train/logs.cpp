#include "kiln/logs.hpp"

#include "kiln/error.hpp"

namespace kiln {
namespace {

[[noreturn]] void throw_missing(const Logs& logs, const std::string& key) {
  std::string present;
  for (const auto& [k, v] : logs) present += (present.empty() ? "\"" : ", \"") + k + "\"";
  throw Error("Logs: no value named \"" + key + "\"; " +
              (present.empty() ? std::string("the logs are empty") : "it holds " + present) + " (compile(..., {\"" +
              key + "\"}) to compute a metric; contains() asks without throwing)");
}

}  // namespace

const double& Logs::at(const std::string& key) const {
  const auto it = find(key);
  if (it == end()) throw_missing(*this, key);
  return it->second;
}

double& Logs::at(const std::string& key) {
  const auto it = find(key);
  if (it == end()) throw_missing(*this, key);
  return it->second;
}

}  // namespace kiln
