// Kiln's version, the one source of it: CMakeLists.txt reads these lines for
// the project, library and package versions. 0.x: a minor release may change
// the API.
#pragma once

#define KILN_VERSION_MAJOR 0
#define KILN_VERSION_MINOR 2
#define KILN_VERSION_PATCH 0

namespace kiln {

// "0.2.0": the version of the library a program runs with (which may differ
// from the headers it was compiled with, KILN_VERSION_*, when the shared
// library changed).
const char *version();

} // namespace kiln
