// kiln summary: the article's CNN as Keras's model.summary() prints it.
#include "command.hpp"
#include "kiln/kiln.hpp"

namespace kiln::cli {
namespace {

int run_summary(const std::string& dataset) {
  const kiln::Shape shape = (dataset == "fashion-mnist" || dataset == "mnist") ? kiln::Shape{28, 28, 1}
                                                                                : kiln::Shape{32, 32, 3};
  kiln::zoo::article_cnn(shape).summary();
  return 0;
}

}  // namespace

Command add_summary_command(CLI::App& parent) {
  auto dataset = std::make_shared<std::string>("cifar10");
  auto* summary = parent.add_subcommand("summary", "Print the CNN's layers and parameter counts");
  summary->add_option("--dataset", *dataset, "Input shape of: cifar10/auto (32x32x3) or fashion-mnist/mnist (28x28x1)")
      ->check(one_of(dataset_names()))
      ->capture_default_str();
  return {summary, [dataset] { return run_summary(*dataset); }};
}

}  // namespace kiln::cli
