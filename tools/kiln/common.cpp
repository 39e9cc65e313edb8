#include <cmath>
#include <fstream>

#include "command.hpp"

namespace kiln::cli {

double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0.0;
}

const CLI::Validator& positive_finite() {
  static const CLI::Validator validator(
      [](std::string& value) -> std::string {
        try {
          const double v = std::stod(value);
          if (std::isfinite(v) && v > 0) return "";
        } catch (const std::exception&) {
        }
        return "must be a finite number greater than 0, got " + value;
      },
      "POSITIVE");
  return validator;
}

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names{"auto", "cifar10", "fashion-mnist", "mnist"};
  return names;
}

}  // namespace kiln::cli
