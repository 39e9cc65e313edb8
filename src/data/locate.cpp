#include <cstdlib>

#include "kiln/datasets.hpp"

namespace kiln::datasets {

std::vector<std::filesystem::path> search_dirs(const LoadOptions& options) {
  std::vector<std::filesystem::path> dirs;
  auto add = [&](const std::filesystem::path& dir) {
    if (dir.empty()) return;
    for (const auto& d : dirs) {
      if (d.lexically_normal() == dir.lexically_normal()) return;
    }
    dirs.push_back(dir);
  };
  if (options.data_dir) add(*options.data_dir);
  // An empty variable counts as unset: `KILN_DATA= kiln ...` must not mean the working directory.
  if (const char* env = std::getenv("KILN_DATA"); env && *env) add(env);
  if (const char* home = std::getenv("HOME"); home && *home) add(std::filesystem::path(home) / ".cache" / "kiln");
  return dirs;
}

}  // namespace kiln::datasets
