// Time to accuracy: trains one of the recipes in examples/recipes/ (read them there; change
// them there or with FIELD=VALUE arguments) and prints its test accuracy and wall time.
//
//   ./build/examples/time_to_accuracy fast                 Fashion-MNIST, the "fast" recipe
//   ./build/examples/time_to_accuracy best --dataset cifar10 --data DIR
//   ./build/examples/time_to_accuracy fast epochs=8 widths=24,48,96 --seed 3 --threads 2
//
// `kiln train --recipe fast|best` runs the same recipes with a run folder and report.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>

#include "kiln/kiln.hpp"
#include "recipes/recipes.hpp"

int main(int argc, char** argv) try {
  const auto start = std::chrono::steady_clock::now();
  std::string name = "fast", dataset = "fashion_mnist";
  kiln::datasets::LoadOptions where;
  recipes::RunOptions run;
  std::map<std::string, std::string> changes;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw kiln::Error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--dataset") {
      dataset = value();
    } else if (a == "--data") {
      where.data_dir = value();
    } else if (a == "--seed") {
      run.seed = std::stoull(value());
    } else if (a == "--threads") {
      kiln::set_num_threads(std::stoi(value()));
    } else if (a == "--verbose") {
      run.verbose = std::stoi(value());
    } else if (const auto eq = a.find('='); eq != std::string::npos) {
      changes[a.substr(0, eq)] = a.substr(eq + 1);
    } else {
      name = a;
    }
  }
  const auto recipe = recipes::with_changes(recipes::named(name), changes);
  std::printf("%s\n", recipes::describe(recipe).c_str());
  kiln::datasets::TrainTest data;
  if (dataset == "fashion_mnist") {
    data = kiln::datasets::fashion_mnist::load_data(where);
  } else if (dataset == "cifar10") {
    data = kiln::datasets::cifar10::load_data(where);
  } else {
    throw kiln::Error("--dataset: expected fashion_mnist or cifar10, got '" + dataset + "'");
  }
  const auto outcome = recipes::run(recipe, data, run);
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("Test accuracy: %.4f (without test-time augmentation %.4f); training %.1f s, whole run %.1f s\n",
              outcome.test_accuracy, outcome.plain_test_accuracy, outcome.train_seconds, total);
  return 0;
} catch (const kiln::Error& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
