#include "data/fetch.hpp"

#include <unistd.h>

#include "kiln/error.hpp"

namespace kiln::data_detail {
namespace fs = std::filesystem;

fs::path download_dir(const datasets::LoadOptions& options) {
  const auto dirs = datasets::search_dirs(options);
  std::string tried;
  for (const auto& dir : dirs) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (!ec && fs::is_directory(dir, ec) && ::access(dir.c_str(), W_OK | X_OK) == 0) return dir;
    tried += (tried.empty() ? "" : ", ") + dir.string();
  }
  if (dirs.empty())
    throw Error("no folder to download into: no data_dir given, and neither $KILN_DATA nor $HOME is set");
  throw Error("no writable folder to download into (tried " + tried + ")");
}

void throw_not_available(const std::string& dataset, const std::string& problem, const std::vector<fs::path>& searched,
                         const std::string& what, const std::string& place) {
  std::string dirs;
  for (const auto& dir : searched) dirs += (dirs.empty() ? "" : ", ") + dir.string();
  if (dirs.empty()) dirs = "(no folders: no data_dir given, $KILN_DATA and $HOME unset)";
  throw datasets::DatasetUnavailable(dataset + ": " + problem + ". Looked in: " + dirs + ". Put " + what + " in " +
                                         place + " (or choose a folder with --data DIR or $KILN_DATA).",
                                     problem);
}

}  // namespace kiln::data_detail
