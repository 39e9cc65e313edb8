// kiln lm: a character-level language model of a word list, in the spirit of
// makemore. Each word is a sequence ".w.o.r.d." of byte tokens with "." (token
// 0) marking its start and end; the model learns to predict every next
// character, including the end. It reports the validation loss in nats per
// character against a bigram-count baseline computed here, and samples new words.
//
//   --model lstm         Embedding(V, 64) -> LSTM(256, return_sequences) -> Dense(V)
//   --model transformer  TokenAndPositionEmbedding(V, L, 128) -> 2 x TransformerEncoder
//                        (causal, pre-norm, 4 heads, feed-forward 512) -> LayerNormalization -> Dense(V)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <set>

#include "command.hpp"
#include "kiln/kiln.hpp"

namespace kiln::cli {
namespace {

using namespace kiln::layers;

constexpr std::int64_t kBoundary = 0;  // the "." before and after every word
constexpr std::int64_t kIgnore = -1;   // targets after a word's end: not part of the loss

struct LmSettings {
  std::string model = "lstm";
  std::string data = "/usr/share/dict/words";
  int epochs = 0;  // 0: the model's default
  std::int64_t batch_size = 64;
  double lr = 0;  // 0: the model's default
  std::uint64_t seed = 0;
  int threads = 0;
  int verbose = -1;
  std::int64_t max_words = 0;
  double validation_split = 0.1;
  int samples = 12;
};

std::vector<std::string> read_words(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error("cannot read the word list " + path +
                (path == "/usr/share/dict/words" ? " (on Debian: apt-get install wamerican)" : ""));
  }
  std::vector<std::string> words;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) words.push_back(line);
  }
  if (words.size() < 2) {
    throw Error("the word list " + path + " has " + std::to_string(words.size()) +
                " non-empty line(s); at least 2 words are needed (one word per line)");
  }
  return words;
}

// Bytes <-> tokens: token 0 is the boundary, the others the bytes that occur, in byte order.
struct Vocabulary {
  std::map<unsigned char, std::int64_t> token_of;
  std::vector<unsigned char> byte_of{'.'};
  explicit Vocabulary(const std::vector<std::string>& words) {
    std::set<unsigned char> bytes;
    for (const auto& w : words) bytes.insert(w.begin(), w.end());
    for (unsigned char b : bytes) {
      token_of[b] = static_cast<std::int64_t>(byte_of.size());
      byte_of.push_back(b);
    }
  }
  std::int64_t size() const { return static_cast<std::int64_t>(byte_of.size()); }
};

// x: [., w, o, r, d, pad...], y: [w, o, r, d, ., ignore...], both [n, length].
data::Dataset encode(const std::vector<std::string>& words, const Vocabulary& vocab, std::int64_t length) {
  const auto n = static_cast<std::int64_t>(words.size());
  Tensor x = Tensor::full({n, length}, double(kBoundary), DType::Int32);
  Tensor y = Tensor::full({n, length}, double(kIgnore), DType::Int32);
  for (std::int64_t i = 0; i < n; ++i) {
    std::int32_t* xr = x.data<std::int32_t>() + i * length;
    std::int32_t* yr = y.data<std::int32_t>() + i * length;
    const std::string& w = words[static_cast<std::size_t>(i)];
    for (std::size_t k = 0; k < w.size(); ++k) {
      const auto token = static_cast<std::int32_t>(vocab.token_of.at(static_cast<unsigned char>(w[k])));
      xr[k + 1] = token;
      yr[k] = token;
    }
    yr[w.size()] = kBoundary;
  }
  return data::Dataset(x, y);
}

// The bigram model from counts of (previous, next) tokens in the training words,
// with add-one smoothing (as makemore's), scored on the validation words.
double bigram_nats_per_char(const data::Dataset& train, const data::Dataset& validation, std::int64_t V) {
  std::vector<double> counts(static_cast<std::size_t>(V * V), 0.0);
  auto pairs = [](const data::Dataset& d, auto&& fn) {
    const std::int64_t n = d.size(), L = d.x().size(1);
    const std::int32_t* x = d.x().data<std::int32_t>();
    const std::int32_t* y = d.y().data<std::int32_t>();
    for (std::int64_t i = 0; i < n * L; ++i) {
      if (y[i] != kIgnore) fn(x[i], y[i]);
    }
  };
  pairs(train, [&](std::int64_t a, std::int64_t b) { counts[a * V + b] += 1; });
  std::vector<double> row_total(static_cast<std::size_t>(V), 0.0);
  for (std::int64_t a = 0; a < V; ++a) {
    for (std::int64_t b = 0; b < V; ++b) row_total[a] += counts[a * V + b];
  }
  double nats = 0;
  std::int64_t chars = 0;
  pairs(validation, [&](std::int64_t a, std::int64_t b) {
    nats -= std::log((counts[a * V + b] + 1.0) / (row_total[a] + double(V)));
    ++chars;
  });
  return nats / double(chars);
}

// A Sequential model that cuts each batch to its longest word: the rest is
// padding whose predictions the loss ignores and which (the models being
// causal) cannot change the positions before it.
class WordModel : public Sequential {
 public:
  Logs train_step(const data::Batch& batch) override { return Sequential::train_step(trimmed(batch)); }
  Logs test_step(const data::Batch& batch) override { return Sequential::test_step(trimmed(batch)); }

  static data::Batch trimmed(const data::Batch& batch) {
    const std::int64_t n = batch.y.size(0), L = batch.y.size(1);
    const std::int32_t* y = batch.y.data<std::int32_t>();
    std::int64_t used = 1;
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t t = L - 1; t >= used; --t) {
        if (y[i * L + t] != kIgnore) {
          used = t + 1;
          break;
        }
      }
    }
    if (used == L) return batch;
    return {narrow(batch.x, 1, 0, used).contiguous(), narrow(batch.y, 1, 0, used).contiguous()};
  }
};

std::shared_ptr<WordModel> build_model(const std::string& kind, std::int64_t V, std::int64_t length) {
  auto model = std::make_shared<WordModel>();
  if (kind == "lstm") {
    model->add(Embedding(V, 64, {.input_shape = {length}}));
    model->add(LSTM(256, {.return_sequences = true}));
    model->add(Dense(V));
  } else {
    model->add(TokenAndPositionEmbedding(V, length, 128, {.input_shape = {length}}));
    for (int i = 0; i < 2; ++i) {
      model->add(TransformerEncoder(512, 4, {.normalize_first = true, .use_causal_mask = true}));
    }
    model->add(LayerNormalization({.epsilon = 1e-5}));
    model->add(Dense(V));
  }
  return model;
}

// Exact validation loss: total nats over every real character (and word end) / their number.
double nats_per_char(WordModel& model, const data::Dataset& d) {
  NoGradGuard no_grad;
  double nats = 0;
  std::int64_t chars = 0;
  for (std::int64_t start = 0; start < d.size(); start += 256) {
    const data::Batch batch = WordModel::trimmed(d.batch(start, std::min(d.size(), start + 256)));
    const Tensor log_p = log_softmax(model(batch.x, false), -1).contiguous();
    const std::int64_t V = log_p.size(-1), rows = batch.y.numel();
    const std::int32_t* y = batch.y.data<std::int32_t>();
    const auto lp = log_p.to_vector<double>();
    for (std::int64_t i = 0; i < rows; ++i) {
      if (y[i] == kIgnore) continue;
      nats -= lp[static_cast<std::size_t>(i * V + y[i])];
      ++chars;
    }
  }
  return nats / double(chars);
}

// Samples a word token by token from the model's predicted distribution.
std::string sample_word(WordModel& model, const Vocabulary& vocab, std::int64_t length, Generator& gen) {
  NoGradGuard no_grad;
  std::vector<std::int32_t> tokens{static_cast<std::int32_t>(kBoundary)};
  std::string word;
  while (static_cast<std::int64_t>(tokens.size()) < length) {
    const Tensor x = Tensor::from_vector(tokens, {1, static_cast<std::int64_t>(tokens.size())});
    const Tensor logits = model(x, false);
    const auto p = softmax(narrow(logits, 1, logits.size(1) - 1, 1), -1).to_vector<double>();
    double u = gen.uniform(), acc = 0;
    std::size_t next = p.size() - 1;
    for (std::size_t k = 0; k < p.size(); ++k) {
      acc += p[k];
      if (u < acc) {
        next = k;
        break;
      }
    }
    if (next == static_cast<std::size_t>(kBoundary)) break;
    tokens.push_back(static_cast<std::int32_t>(next));
    word += static_cast<char>(vocab.byte_of[next]);
  }
  return word;
}

int run_lm(const LmSettings& s) {
  set_num_threads(s.threads);
  manual_seed(s.seed);
  std::vector<std::string> words = read_words(s.data);
  const std::size_t in_file = words.size();
  Generator shuffle(s.seed);
  for (std::size_t i = words.size() - 1; i > 0; --i) std::swap(words[i], words[shuffle.below(i + 1)]);
  if (s.max_words > 0 && static_cast<std::size_t>(s.max_words) < words.size()) words.resize(s.max_words);
  const auto n_valid = std::max<std::size_t>(1, static_cast<std::size_t>(double(words.size()) * s.validation_split));
  if (n_valid >= words.size()) throw Error("lm: --validation-split leaves no training words");
  const std::vector<std::string> train_words(words.begin(), words.end() - n_valid);
  const std::vector<std::string> valid_words(words.end() - n_valid, words.end());
  const Vocabulary vocab(words);
  std::size_t longest = 0;
  for (const auto& w : words) longest = std::max(longest, w.size());
  const auto length = static_cast<std::int64_t>(longest) + 1;
  const data::Dataset train = encode(train_words, vocab, length);
  const data::Dataset validation = encode(valid_words, vocab, length);
  // --verbose 0: nothing on standard output but the final "validation loss" line.
  const bool talk = s.verbose != 0;
  if (talk) {
    std::printf("Words: %zu of %zu in %s: %zu for training, %zu for validation; %lld symbols (bytes and the "
                "boundary '.'), words up to %zu bytes\n",
                words.size(), in_file, s.data.c_str(), train_words.size(), valid_words.size(),
                static_cast<long long>(vocab.size()), longest);
  }
  const double bigram = bigram_nats_per_char(train, validation, vocab.size());
  if (talk) {
    std::printf("Bigram baseline (add-one counts of the training words): %.3f nats/char on the validation words\n",
                bigram);
  }

  const bool lstm = s.model == "lstm";
  auto model = build_model(s.model, vocab.size(), length);
  if (talk) model->summary();
  const double lr = s.lr > 0 ? s.lr : (lstm ? 2e-3 : 1e-3);
  model->compile(std::make_shared<optim::Adam>(lr),
                 std::make_shared<losses::SparseCategoricalCrossentropy>(/*from_logits=*/true, kIgnore));
  const double before = nats_per_char(*model, validation);
  model->fit(train, {.epochs = s.epochs > 0 ? s.epochs : 4,
                     .batch_size = s.batch_size,
                     .verbose = s.verbose,
                     .validation_data = validation,
                     .seed = s.seed});
  const double after = nats_per_char(*model, validation);

  const std::set<std::string> known(words.begin(), words.end());
  Generator gen(s.seed + 1);
  if (talk) std::printf("Samples (* = in the word list):\n");
  int novel = 0;
  for (int i = 0; i < s.samples; ++i) {
    const std::string w = sample_word(*model, vocab, length, gen);
    const bool seen = known.count(w) > 0;
    novel += !seen;
    if (talk) std::printf("  %s%s\n", w.c_str(), seen ? " *" : "");
  }
  if (talk) {
    std::printf("Validation loss before training: %.3f nats/char; peak memory %.0f MB\n", before, peak_rss_mb());
  }
  std::printf("validation loss %.3f nats/char (bigram baseline %.3f)\n", after, bigram);
  return 0;
}

}  // namespace

Command add_lm_command(CLI::App& parent) {
  auto settings = std::make_shared<LmSettings>();
  LmSettings& s = *settings;
  auto* lm = parent.add_subcommand("lm", "Train a character-level language model of a word list and sample words");
  lm->add_option("--model", s.model, "lstm or transformer")
      ->check(one_of({"lstm", "transformer"}))
      ->capture_default_str();
  lm->add_option("--data", s.data, "Word list, one word per line")->check(existing_file())->capture_default_str();
  lm->add_option("--epochs", s.epochs, "Passes over the training words (default: 4)")->check(whole_number(1));
  lm->add_option("--batch-size", s.batch_size, "Words per training step")
      ->check(whole_number(1))
      ->capture_default_str();
  lm->add_option("--lr", s.lr, "Adam's learning rate (default: 2e-3 for lstm, 1e-3 for transformer)")
      ->check(positive_finite());
  lm->add_option("--seed", s.seed, "Seed for the split, weights, shuffling and sampling")
      ->check(seed_number())
      ->capture_default_str();
  lm->add_option("--threads", s.threads, "Threads to use (0: all cores of this process)")
      ->check(whole_number(0))
      ->capture_default_str();
  lm->add_option("--verbose", s.verbose, "1: progress bar, 2: a line per epoch, 0: quiet (default: bar on a terminal)")
      ->check(whole_number(0, 2));
  lm->add_option("--max-words", s.max_words, "Use only N words, drawn at random (0: all)")->check(whole_number(0));
  lm->add_option("--validation-split", s.validation_split, "Fraction of the words held out for validation")
      ->check(number_in(0.001, 0.9))
      ->capture_default_str();
  lm->add_option("--samples", s.samples, "Words to sample after training")
      ->check(whole_number(0))
      ->capture_default_str();
  return {lm, [settings] { return run_lm(*settings); }};
}

}  // namespace kiln::cli
