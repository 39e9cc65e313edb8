// The message of the kiln::Error a call throws, for tests that check what an
// error says (the file, layer or argument, the expected and the actual value).
#pragma once
#include <functional>
#include <string>

#include "kiln/error.hpp"

namespace kiln::testing {

// "(no error)" when the call returns normally, so a missing error fails the
// test's EXPECT on the message rather than passing silently.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace kiln::testing
