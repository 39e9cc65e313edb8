// A double as error messages and configs print it: what std::ostream writes (6 significant
// digits, "inf", "nan"), so that a message shows the value the user passed, not 17 digits of it.
#pragma once

#include <sstream>
#include <string>

namespace kiln::detail {

inline std::string number_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace kiln::detail
