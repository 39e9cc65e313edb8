// One `kiln` subcommand: its options are declared on a CLI11 subcommand, and
// run() is called when it is the one given. Each command lives in its own file
// (train_command.cpp, summary_command.cpp, ...) and is listed in main.cpp.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace kiln::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  // exit code: 0 success, 1 runtime error (usage errors are CLI11's: 2)
};

Command add_train_command(CLI::App& parent);
Command add_summary_command(CLI::App& parent);
Command add_lm_command(CLI::App& parent);
Command add_evaluate_command(CLI::App& parent);
Command add_gan_command(CLI::App& parent);

// Shared helpers.
// Peak resident memory of this process in MB, from the kernel's own accounting.
double peak_rss_mb();
// CLI11 parses "nan" and "inf" as numbers; options that need a finite positive value use this.
const CLI::Validator& positive_finite();
// The dataset names every command accepts.
const std::vector<std::string>& dataset_names();

}  // namespace kiln::cli
