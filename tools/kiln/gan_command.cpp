// kiln gan: a DCGAN on Fashion-MNIST (writing a grid of samples after every
// epoch, the players' loss curves, and a quality score from a classifier
// Kiln trains), or with --toy ring8 the eight-Gaussians mode-coverage test.
#include "command.hpp"
#include "gan.hpp"

namespace kiln::cli {

Command add_gan_command(CLI::App& parent) {
  auto settings = std::make_shared<GanSettings>();
  GanSettings& s = *settings;
  auto* gan = parent.add_subcommand(
      "gan", "Train a DCGAN on Fashion-MNIST (or a toy 2-D GAN) and write samples, loss curves and scores");
  gan->add_option("--toy", s.toy, "Train a toy GAN instead: ring8 (eight Gaussians on a circle)")
      ->check(one_of({"ring8"}));
  gan->add_option("--epochs", s.epochs, "Passes over the training data (default: 5 for the DCGAN, 40 for ring8)")
      ->check(whole_number(1));
  gan->add_option("--batch-size", s.batch_size, "Real samples per step (default: 64 for the DCGAN, 256 for ring8)")
      ->check(whole_number(1));
  gan->add_option("--lr", s.lr, "Adam's learning rate for both players (default: 2e-4 for the DCGAN, 1e-3 for ring8)")
      ->check(positive_finite());
  gan->add_option("--latent-dim", s.latent_dim, "Size of the generator's noise input (default: 100; ring8: 16)")
      ->check(whole_number(1));
  gan->add_option("--seed", s.seed, "Seed for weights, noise and shuffling (same seed and threads: same run)")
      ->check(seed_number())
      ->capture_default_str();
  gan->add_option("--threads", s.threads, "Threads to use (0: all cores of this process)")
      ->check(whole_number(0))
      ->capture_default_str();
  gan->add_option("--verbose", s.verbose, "1: progress bar, 2: a line per epoch, 0: quiet (default: bar on a terminal)")
      ->check(whole_number(0, 2));
  gan->add_option("--out", s.out_dir,
                  "Folder for sample grids, losses.csv and losses.png (default: gan_out for the DCGAN; none for ring8)")
      ->check(folder_path());
  gan->add_option("--data", s.data_dir, "Folder holding Fashion-MNIST (searched first)")->check(existing_folder());
  gan->add_option("--train-samples", s.train_samples, "Use only the first N training samples (0: all)")
      ->check(whole_number(0));
  gan->add_option("--classifier-epochs", s.classifier_epochs,
                  "Epochs for the Fashion-MNIST classifier that scores the samples")
      ->check(whole_number(1))
      ->capture_default_str();
  gan->add_option("--score-samples", s.score_samples, "Generated (and real test) images to score")
      ->check(whole_number(1))
      ->capture_default_str();
  gan->add_flag("--no-score", s.no_score, "Skip training the classifier and scoring the samples");
  return {gan, [settings] { return settings->toy == "ring8" ? run_ring8(*settings) : run_fashion_dcgan(*settings); }};
}

}  // namespace kiln::cli
