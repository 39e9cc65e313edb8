// What the dataset loaders share when a dataset is not on disk: where a download
// goes, and the one error that tells the user what failed and where to put the files.
// Internal to the dataset loaders.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "kiln/datasets.hpp"

namespace kiln::data_detail {

// The first of data_dir, $KILN_DATA, ~/.cache/kiln that exists or can be created, and
// can be written to. Throws kiln::Error listing them when none can.
std::filesystem::path download_dir(const datasets::LoadOptions& options);

// Throws kiln::Error: "<dataset>: <problem>. Looked in: <searched>. Put <what> in <place>
// (or choose a folder with --data DIR or $KILN_DATA)."
[[noreturn]] void throw_not_available(const std::string& dataset, const std::string& problem,
                                      const std::vector<std::filesystem::path>& searched, const std::string& what,
                                      const std::string& place = "one of those folders");

}  // namespace kiln::data_detail
