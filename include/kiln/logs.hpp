// Logs: the named values a training or evaluation step reports ("loss", "accuracy",
// "val_loss", ...), what evaluate() returns and callbacks receive.
//
// A std::map in every way but reading: logs["accuracy"] (and at()) on a key that is
// not there throws an Error listing the keys there are, where std::map would insert
// a silent 0.0. Write with insert_or_assign (or build from {{"loss", 0.5}, ...});
// ask with contains() or find() when a value may be absent.
#pragma once
#include <map>
#include <string>

namespace kiln {

class Logs : public std::map<std::string, double> {
 public:
  using std::map<std::string, double>::map;
  Logs() = default;
  Logs(std::map<std::string, double> values) : std::map<std::string, double>(std::move(values)) {}  // NOLINT

  // The value of `key`; an Error naming it and the keys present when it is absent.
  const double& operator[](const std::string& key) const { return at(key); }
  const double& at(const std::string& key) const;
  double& at(const std::string& key);
};

}  // namespace kiln
