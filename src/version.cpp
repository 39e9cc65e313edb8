#include "kiln/version.hpp"

namespace kiln {

#define KILN_STRINGIFY_(x) #x
#define KILN_STRINGIFY(x) KILN_STRINGIFY_(x)

const char *version() {
  return KILN_STRINGIFY(KILN_VERSION_MAJOR) "." KILN_STRINGIFY(
      KILN_VERSION_MINOR) "." KILN_STRINGIFY(KILN_VERSION_PATCH);
}

} // namespace kiln
