// One `kiln` subcommand: its options are declared on a CLI11 subcommand, and
// run() is called when it is the one given. Each command lives in its own file
// (train_command.cpp, summary_command.cpp, ...) and is listed in main.cpp.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kiln::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  // exit code: 0 success, 1 runtime error (usage errors, 2, come from parsing)
};

Command add_train_command(CLI::App& parent);
Command add_summary_command(CLI::App& parent);
Command add_lm_command(CLI::App& parent);
Command add_evaluate_command(CLI::App& parent);
Command add_gan_command(CLI::App& parent);
Command add_export_command(CLI::App& parent);
Command add_import_command(CLI::App& parent);
Command add_predict_command(CLI::App& parent);

// Shared helpers.
// Peak resident memory of this process in MB, from the kernel's own accounting.
double peak_rss_mb();

// Validators for options. A rejected value becomes one line naming the option, the value
// given and what is allowed ("kiln train: --epochs: got 0, expected a whole number >= 1"),
// and exit code 2. They check the text itself, so "nan", "1e3" or "3.5" never reach a
// conversion that would accept or misread them.
// A whole number from `min` to `max` (the option's type's limit unless smaller).
CLI::Validator whole_number(std::int64_t min, std::int64_t max = 2147483647);
// A seed: any whole number that fits 64 unsigned bits.
const CLI::Validator& seed_number();
// A finite number greater than 0 ("nan" and "inf" parse as numbers, but are not learning rates).
const CLI::Validator& positive_finite();
// A number in [low, high].
CLI::Validator number_in(double low, double high);
// One of `names`, suggesting the closest when the value is not ("did you mean cifar10?").
CLI::Validator one_of(std::vector<std::string> names);
// A folder that exists (dataset folders: a missing one is a typo, not a place to download into).
const CLI::Validator& existing_folder();
// A file that exists.
const CLI::Validator& existing_file();
// A file or a folder that exists.
const CLI::Validator& existing_path();
// A path that is not an existing file (an output folder).
const CLI::Validator& folder_path();

// The dataset names every command accepts.
const std::vector<std::string>& dataset_names();
// The entry of `candidates` closest to `word` by edit distance, or "" when none is close
// enough to be a likely typo.
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace kiln::cli
