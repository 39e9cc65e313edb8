// A downstream program: trains a small classifier on two interleaved classes,
// saves it, loads the file back and checks that the loaded model predicts the
// same numbers. Prints the accuracy; exits non-zero when anything is off.
#include <kiln/kiln.hpp>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#define STR_(x) #x
#define STR(x) STR_(x)

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "model.safetensors";
  // The headers and the library this program runs with are the same release.
  const std::string headers = STR(KILN_VERSION_MAJOR) "." STR(
      KILN_VERSION_MINOR) "." STR(KILN_VERSION_PATCH);
  if (headers != kiln::version()) {
    std::printf("headers say %s, the library says %s\n", headers.c_str(),
                kiln::version());
    return 1;
  }
  // Points on two rings: class 0 inside radius 1, class 1 outside — not
  // linearly separable.
  const int n = 512;
  std::vector<float> xs;
  std::vector<std::int32_t> ys;
  for (int i = 0; i < n; ++i) {
    const double angle = 0.7 * i,
                 radius = (i % 2 ? 1.5 : 0.5) + 0.1 * std::sin(3.1 * i);
    xs.push_back(static_cast<float>(radius * std::cos(angle)));
    xs.push_back(static_cast<float>(radius * std::sin(angle)));
    ys.push_back(i % 2);
  }
  const kiln::Tensor x = kiln::Tensor::from_vector(xs, {n, 2});
  const kiln::Tensor y = kiln::Tensor::from_vector(ys, {n});

  kiln::Sequential model;
  model.add(kiln::layers::Dense(16, "relu", {2}));
  model.add(kiln::layers::Dense(2, "softmax"));
  model.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  model.fit(x, y, {.epochs = 60, .batch_size = 32, .verbose = 0});
  const double accuracy = model.evaluate(x, y, {.verbose = 0}).at("accuracy");
  model.save(path);

  const auto loaded = kiln::load_model(path);
  const kiln::Tensor before = model.predict(x, {.verbose = 0});
  const kiln::Tensor after = loaded->predict(x, {.verbose = 0});
  const float *a = before.data<float>();
  const float *b = after.data<float>();
  for (std::int64_t i = 0; i < before.numel(); ++i) {
    if (a[i] != b[i]) {
      std::printf("loaded model differs at %lld: %g vs %g\n",
                  static_cast<long long>(i), a[i], b[i]);
      return 1;
    }
  }
  std::printf("Kiln %s: accuracy %.4f\n", kiln::version(), accuracy);
  return accuracy >= 0.9 ? 0 : 1;
}
