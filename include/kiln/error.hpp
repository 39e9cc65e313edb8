// kiln::Error — the one exception type Kiln throws at its API boundary.
#pragma once
#include <stdexcept>
#include <string>

namespace kiln {

// An error a user can act on: the message names the layer, file or argument,
// what was expected and what was found.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace kiln
