// kiln — the command line: train, inspect and evaluate models.
//
//   kiln train [--dataset auto|cifar10|fashion-mnist|mnist] [--data DIR] [--epochs N] ...
//   kiln summary [--dataset ...]
//   kiln lm [--model lstm|transformer] [--data FILE] [--epochs N] ...
//   kiln evaluate MODEL_OR_RUN_DIR [--dataset ...] [--split test|train]
//   kiln gan [--toy ring8] [--epochs N] [--out DIR] ...
//   kiln export MODEL_OR_RUN_DIR model.onnx [--opset 17]
//   kiln import model.onnx model.safetensors
//   kiln predict MODEL --input x.npy [--output y.npy]
//
// Exit codes: 0 success, 1 a runtime error (missing data, NaN loss, ...), 2 a usage error.
#include <algorithm>
#include <iostream>
#include <regex>
#include <string>
#include <vector>

#include "command.hpp"
#include "kiln/error.hpp"
#include "kiln/version.hpp"

namespace {

// A usage error: one line on standard error, exit code 2.
int usage_error(const std::string& who, const std::string& message) {
  std::cerr << who << ": " << message << " (see " << who << " --help)\n";
  return 2;
}

// What CLI11 would reject with a message that names neither the word nor what it might
// have meant: an unknown subcommand ("A subcommand is required") and unknown options
// ("The following arguments were not expected"). Returns the error line, or "".
std::string unknown_words(const CLI::App& app, int argc, char** argv, std::string& who) {
  std::vector<std::string> commands;
  for (const CLI::App* sub : app.get_subcommands({})) commands.push_back(sub->get_name());
  const CLI::App* current = &app;
  int first_option = 1;
  if (argc > 1 && argv[1][0] != '-') {
    const std::string word = argv[1];
    const auto it = std::find(commands.begin(), commands.end(), word);
    if (it == commands.end()) {
      std::string list;
      for (std::size_t i = 0; i < commands.size(); ++i) list += (i ? ", " : "") + commands[i];
      const std::string guess = kiln::cli::closest(word, commands);
      return "unknown command '" + word + "'" + (guess.empty() ? "" : "; did you mean '" + guess + "'?") +
             " (commands: " + list + ")";
    }
    current = app.get_subcommand(word);
    who += " " + word;
    first_option = 2;
  }
  for (int i = first_option; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.rfind("--", 0) != 0) continue;  // values, and negative numbers given as values
    const std::string name = arg.substr(0, arg.find('='));
    if (name == "--help" || current->get_option_no_throw(name) != nullptr) continue;
    std::vector<std::string> options;
    for (const CLI::Option* o : current->get_options()) {
      for (const auto& long_name : o->get_lnames()) options.push_back("--" + long_name);
    }
    const std::string guess = kiln::cli::closest(name, options);
    return "unknown option " + name + (guess.empty() ? "" : "; did you mean " + guess + "?");
  }
  return "";
}

// CLI11's message, on one line, for the errors unknown_words does not catch first.
std::string describe(const CLI::ParseError& e, const CLI::App& app) {
  const std::string what = e.what();
  if (what == "A subcommand is required") {
    std::string list;
    for (const CLI::App* sub : app.get_subcommands({})) list += (list.empty() ? "" : ", ") + sub->get_name();
    return "a command is required: one of " + list;
  }
  // CLI11: "--epochs: 1 required INT:N>=1 missing" for an option given without its value.
  static const std::regex missing("^(.*): [0-9]+ required (.*) missing$");
  std::smatch m;
  if (std::regex_match(what, m, missing)) return m[1].str() + ": needs a value (" + m[2].str() + ")";
  return what;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Kiln: train and evaluate the article's CIFAR-10 CNN in C++.\n\n"
      "  kiln train            train the CNN (10 epochs, batch 64, Adam 1e-3) and print \"Test accuracy\"\n"
      "  kiln summary          print the model's layers, output shapes and parameter counts\n"
      "  kiln lm               train a character-level language model of a word list (LSTM or Transformer)\n"
      "  kiln evaluate PATH    classification report and confusion matrix of a saved model or run folder\n"
      "  kiln gan              train a DCGAN on Fashion-MNIST; --toy ring8 for the 2-D mode-coverage test\n"
      "  kiln export M OUT     write a saved model (or a run folder's) as an ONNX file\n"
      "  kiln import IN OUT    convert an ONNX model into a Kiln model file\n"
      "  kiln predict M        a model's outputs for inputs in .npy files (--input, --output)\n\n"
      "kiln train writes a run folder (runs/<time>-<dataset>/, or --out DIR): checkpoints, metrics,\n"
      "plots and report.html; kiln train --resume DIR continues a stopped run exactly.\n"
      "Datasets are looked for in --data DIR, then $KILN_DATA, then ~/.cache/kiln (and for\n"
      "Fashion-MNIST in /usr/share/datasets/fashion-mnist). CIFAR-10 is downloaded there when\n"
      "absent; without a network, put cifar-10-binary.tar.gz (or cifar-10-batches-bin/) there.",
      "kiln"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("kiln ") + kiln::version(), "Print Kiln's version and exit");
  const std::vector<kiln::cli::Command> commands = {
      kiln::cli::add_train_command(app),    kiln::cli::add_summary_command(app), kiln::cli::add_lm_command(app),
      kiln::cli::add_evaluate_command(app), kiln::cli::add_gan_command(app),     kiln::cli::add_export_command(app),
      kiln::cli::add_import_command(app),   kiln::cli::add_predict_command(app),
  };
  std::string who = "kiln";
  if (const std::string unknown = unknown_words(app, argc, argv, who); !unknown.empty()) {
    return usage_error(who, unknown);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_error(who, describe(e, app));
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
