// kiln — the command line: train, inspect and evaluate models.
//
//   kiln train [--dataset auto|cifar10|fashion-mnist|mnist] [--data DIR] [--epochs N] ...
//   kiln summary [--dataset ...]
//   kiln lm [--model lstm|transformer] [--data FILE] [--epochs N] ...
//   kiln evaluate MODEL_OR_RUN_DIR [--dataset ...] [--split test|train]
//   kiln gan [--toy ring8] [--epochs N] [--out DIR] ...
//
// Exit codes: 0 success, 1 a runtime error (missing data, NaN loss, ...), 2 a usage error.
#include <iostream>
#include <vector>

#include "command.hpp"
#include "kiln/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "Kiln: train and evaluate the article's CIFAR-10 CNN in C++.\n\n"
      "  kiln train            train the CNN (10 epochs, batch 64, Adam 1e-3) and print \"Test accuracy\"\n"
      "  kiln summary          print the model's layers, output shapes and parameter counts\n"
      "  kiln lm               train a character-level language model of a word list (LSTM or Transformer)\n"
      "  kiln evaluate PATH    classification report and confusion matrix of a saved model or run folder\n"
      "  kiln gan              train a DCGAN on Fashion-MNIST; --toy ring8 for the 2-D mode-coverage test\n\n"
      "kiln train writes a run folder (runs/<time>-<dataset>/, or --out DIR): checkpoints, metrics,\n"
      "plots and report.html; kiln train --resume DIR continues a stopped run exactly.\n"
      "Datasets are looked for in --data DIR, then $KILN_DATA, then ~/.cache/kiln (and for\n"
      "Fashion-MNIST in /usr/share/datasets/fashion-mnist). CIFAR-10 is downloaded there when\n"
      "absent; without a network, put cifar-10-binary.tar.gz (or cifar-10-batches-bin/) there.",
      "kiln"};
  app.require_subcommand(1);
  const std::vector<kiln::cli::Command> commands = {
      kiln::cli::add_train_command(app),
      kiln::cli::add_summary_command(app),
      kiln::cli::add_lm_command(app),
      kiln::cli::add_evaluate_command(app),
      kiln::cli::add_gan_command(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Prints the help, or the error with a pointer to --help; usage errors exit with 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    for (const auto& command : commands) {
      if (command.app->parsed()) return command.run();
    }
  } catch (const kiln::Error& e) {
    std::cerr << "kiln: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "kiln: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
