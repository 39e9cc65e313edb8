// Sequence classification that needs memory: the temporal order problem
// (Hochreiter & Schmidhuber, 1997, experiment 6a, simplified).
//
// Every sequence is --length random "noise" tokens with two markers, A and B,
// put at random positions; the label says which came first. Each sequence
// holds exactly one A and one B, so the counts of its tokens (a bag of words)
// say nothing about the label: a bag-of-words classifier stays at chance
// (50%). An LSTM reading the tokens in order has to remember, over up to
// --length steps, whether it has seen A when B arrives.
//
//   build/examples/temporal_order [--length 50] [--train 4000] [--test 1000] [--epochs 6] [--seed 0] [--threads 0]
//
// Prints both test accuracies; the last line is "LSTM test accuracy: X (bag of words: Y, chance 0.5)".
#include <cstdio>
#include <cstring>
#include <string>

#include "kiln/kiln.hpp"

using namespace kiln;
using namespace kiln::layers;

namespace {

constexpr std::int32_t kA = 1, kB = 2, kFirstNoise = 3, kVocabulary = 12;

struct Data {
  Tensor tokens;  // [n, length] int32
  Tensor counts;  // [n, vocabulary] float32: the bag of words
  Tensor labels;  // [n] int32: 1 when A comes before B
};

Data make_data(std::int64_t n, std::int64_t length, Generator& gen) {
  Data d{Tensor::empty({n, length}, DType::Int32), Tensor::zeros({n, kVocabulary}), Tensor::empty({n}, DType::Int32)};
  for (std::int64_t i = 0; i < n; ++i) {
    std::int32_t* row = d.tokens.data<std::int32_t>() + i * length;
    for (std::int64_t t = 0; t < length; ++t) {
      row[t] = kFirstNoise + static_cast<std::int32_t>(gen.below(kVocabulary - kFirstNoise));
    }
    const auto a = static_cast<std::int64_t>(gen.below(length));
    auto b = static_cast<std::int64_t>(gen.below(length - 1));
    if (b >= a) ++b;  // a different position
    row[a] = kA;
    row[b] = kB;
    d.labels.data<std::int32_t>()[i] = a < b ? 1 : 0;
    float* counts = d.counts.data<float>() + i * kVocabulary;
    for (std::int64_t t = 0; t < length; ++t) counts[row[t]] += 1.0f;
  }
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t length = 50, n_train = 4000, n_test = 1000;
  int epochs = 6, threads = 0;
  std::uint64_t seed = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--length") length = std::stoll(v);
    else if (k == "--train") n_train = std::stoll(v);
    else if (k == "--test") n_test = std::stoll(v);
    else if (k == "--epochs") epochs = std::stoi(v);
    else if (k == "--seed") seed = std::stoull(v);
    else if (k == "--threads") threads = std::stoi(v);
    else {
      std::fprintf(stderr, "temporal_order: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (length < 2 || n_train < 1 || n_test < 1 || epochs < 1) {
    std::fprintf(stderr, "temporal_order: --length must be at least 2; --train, --test and --epochs positive\n");
    return 2;
  }
  set_num_threads(threads);
  manual_seed(seed);
  Generator gen(seed);
  const Data train = make_data(n_train, length, gen), test = make_data(n_test, length, gen);
  std::printf("Temporal order: %lld training and %lld test sequences of %lld tokens; label = whether A comes "
              "before B\n",
              static_cast<long long>(n_train), static_cast<long long>(n_test), static_cast<long long>(length));

  // Bag of words: token counts -> a small MLP. It sees exactly what an
  // order-blind model can see.
  Sequential bag;
  bag.add(Dense(32, "relu", {kVocabulary}));
  bag.add(Dense(2, "softmax"));
  bag.compile(optim::Adam(1e-2), losses::SparseCategoricalCrossentropy(), {"accuracy"});
  std::printf("Bag of words (token counts -> Dense(32, relu) -> Dense(2)):\n");
  bag.fit(train.counts, train.labels, {.epochs = epochs, .batch_size = 64, .verbose = 2, .seed = seed});
  const double bag_accuracy = bag.evaluate(test.counts, test.labels, {.verbose = 0}).at("accuracy");

  // The same tokens, in order, through an LSTM.
  Sequential lstm;
  lstm.add(Embedding(kVocabulary, 8, {.input_shape = {length}}));
  lstm.add(LSTM(32));
  lstm.add(Dense(2, "softmax"));
  lstm.compile(optim::Adam(1e-2), losses::SparseCategoricalCrossentropy(), {"accuracy"});
  std::printf("LSTM (Embedding(%d, 8) -> LSTM(32) -> Dense(2)):\n", kVocabulary);
  lstm.fit(train.tokens, train.labels, {.epochs = epochs, .batch_size = 64, .verbose = 2, .seed = seed});
  const double lstm_accuracy = lstm.evaluate(test.tokens, test.labels, {.verbose = 0}).at("accuracy");

  std::printf("Bag-of-words test accuracy: %.4f\n", bag_accuracy);
  std::printf("LSTM test accuracy: %.4f (bag of words: %.4f, chance 0.5)\n", lstm_accuracy, bag_accuracy);
  return 0;
}
