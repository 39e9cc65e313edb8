#include "train/monitor.hpp"

#include <limits>

#include "kiln/error.hpp"

namespace kiln::train_detail {

Monitor::Monitor(std::string who, std::string key, const std::string& mode)
    : who_(std::move(who)), key_(std::move(key)) {
  if (mode == "min") {
    maximize_ = false;
  } else if (mode == "max") {
    maximize_ = true;
  } else if (mode == "auto") {
    maximize_ = false;
    for (const char* word : {"acc", "precision", "recall", "f1", "auc"}) {
      if (key_.find(word) != std::string::npos) maximize_ = true;
    }
  } else {
    throw Error(who_ + ": mode must be \"auto\", \"min\" or \"max\", got \"" + mode + "\"");
  }
}

double Monitor::worst() const {
  return maximize_ ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
}

bool Monitor::improves(double current, double reference, double min_delta) const {
  return maximize_ ? current - min_delta > reference : current + min_delta < reference;
}

double Monitor::value(const Logs& logs) const {
  const auto it = logs.find(key_);
  if (it != logs.end()) return it->second;
  std::string keys;
  for (const auto& [k, v] : logs) keys += (keys.empty() ? "" : ", ") + k;
  throw Error(who_ + ": monitors \"" + key_ + "\", which the epoch's logs do not have (they have " + keys + ")" +
              (key_.rfind("val_", 0) == 0 ? "; give fit() validation data" : ""));
}

int state_int(const nlohmann::json& values, const char* key, const std::string& who) {
  if (!values.contains(key) || !values.at(key).is_number_integer()) {
    throw Error(who + ": the saved state has no integer \"" + key + "\"");
  }
  const auto v = values.at(key).get<std::int64_t>();
  if (values.at(key).is_number_unsigned() && values.at(key).get<std::uint64_t>() > (1ull << 31)) {
    throw Error(who + ": the saved state's \"" + key + "\" is out of range");
  }
  if (v < -(std::int64_t{1} << 31) || v >= (std::int64_t{1} << 31)) {
    throw Error(who + ": the saved state's \"" + key + "\" is out of range");
  }
  return static_cast<int>(v);
}

double state_number_or(const nlohmann::json& values, const char* key, double fallback) {
  if (!values.contains(key)) return fallback;
  return values.at(key).is_number() ? values.at(key).get<double>() : fallback;
}

}  // namespace kiln::train_detail
