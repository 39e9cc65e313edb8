#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "command.hpp"

namespace kiln::cli {
namespace {

namespace fs = std::filesystem;

// What a validator says about a rejected value; CLI11 puts the option's name in front.
std::string rejected(const std::string& value, const std::string& allowed) {
  const bool plain = !value.empty() && value.find(' ') == std::string::npos;
  return "got " + (plain ? value : "'" + value + "'") + ", expected " + allowed;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0.0;
}

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = 0;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (best.empty() || d < best_distance) best = c, best_distance = d;
  }
  // A third of the word's letters wrong (at least 2) still reads as a typo of it; more does not.
  return best_distance <= std::max<std::size_t>(2, word.size() / 3) ? best : "";
}

CLI::Validator whole_number(std::int64_t min, std::int64_t max) {
  const std::string allowed =
      "a whole number " +
      (max == 2147483647 ? ">= " + std::to_string(min) : "from " + std::to_string(min) + " to " + std::to_string(max));
  return CLI::Validator(
      [min, max, allowed](std::string& value) -> std::string {
        std::int64_t v = 0;
        const char* end = value.data() + value.size();
        const auto [ptr, ec] = std::from_chars(value.data() + (value.rfind('+', 0) == 0 ? 1 : 0), end, v);
        if (value.empty() || ec == std::errc::invalid_argument || ptr != end) return rejected(value, allowed);
        if (ec == std::errc::result_out_of_range || v > max) {
          return rejected(value, "a whole number from " + std::to_string(min) + " to " + std::to_string(max));
        }
        if (v < min) return rejected(value, allowed);
        return "";
      },
      min == 1 ? "N>=1" : "N");
}

const CLI::Validator& seed_number() {
  static const CLI::Validator validator(
      [](std::string& value) -> std::string {
        std::uint64_t v = 0;
        const char* end = value.data() + value.size();
        const auto [ptr, ec] = std::from_chars(value.data(), end, v);
        if (value.empty() || ec != std::errc() || ptr != end) {
          return rejected(value, "a whole number from 0 to 18446744073709551615");
        }
        return "";
      },
      "SEED");
  return validator;
}

const CLI::Validator& positive_finite() {
  static const CLI::Validator validator(
      [](std::string& value) -> std::string {
        try {
          std::size_t used = 0;
          const double v = std::stod(value, &used);
          if (used == value.size() && std::isfinite(v) && v > 0) return "";
        } catch (const std::exception&) {
        }
        return rejected(value, "a finite number greater than 0");
      },
      "X>0");
  return validator;
}

CLI::Validator number_in(double low, double high) {
  std::ostringstream allowed;
  allowed << "a number from " << low << " to " << high;
  return CLI::Validator(
      [low, high, text = allowed.str()](std::string& value) -> std::string {
        try {
          std::size_t used = 0;
          const double v = std::stod(value, &used);
          if (used == value.size() && v >= low && v <= high) return "";
        } catch (const std::exception&) {
        }
        return rejected(value, text);
      },
      "X");
}

CLI::Validator one_of(std::vector<std::string> names) {
  std::string list;
  for (std::size_t i = 0; i < names.size(); ++i) list += (i ? (i + 1 == names.size() ? " or " : ", ") : "") + names[i];
  return CLI::Validator(
      [names, list](std::string& value) -> std::string {
        if (std::find(names.begin(), names.end(), value) != names.end()) return "";
        const std::string guess = closest(value, names);
        return rejected(value, list) + (guess.empty() ? "" : " (did you mean " + guess + "?)");
      },
      list);
}

const CLI::Validator& existing_folder() {
  static const CLI::Validator validator(
      [](std::string& value) -> std::string {
        if (fs::is_directory(value)) return "";
        return rejected(value, fs::exists(value) ? "a folder (that is a file)" : "a folder that exists");
      },
      "DIR");
  return validator;
}

const CLI::Validator& existing_file() {
  static const CLI::Validator validator(
      [](std::string& value) -> std::string {
        if (fs::is_regular_file(value)) return "";
        return rejected(value, fs::exists(value) ? "a file (that is a folder)" : "a file that exists");
      },
      "FILE");
  return validator;
}

const CLI::Validator& existing_path() {
  static const CLI::Validator validator(
      [](std::string& value) -> std::string {
        return fs::exists(value) ? "" : rejected(value, "a model file or a run folder that exists");
      },
      "PATH");
  return validator;
}

const CLI::Validator& folder_path() {
  static const CLI::Validator validator(
      [](std::string& value) -> std::string {
        if (value.empty()) return rejected(value, "a folder name");
        if (fs::exists(value) && !fs::is_directory(value)) return rejected(value, "a folder (that is a file)");
        return "";
      },
      "DIR");
  return validator;
}

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names{"auto", "cifar10", "fashion-mnist", "mnist"};
  return names;
}

}  // namespace kiln::cli
