// A downstream program that only loads a model and predicts: it needs Kiln's
// core library alone (no dataset downloads, archives or reports). Usage:
// predict MODEL_FILE  -> prints the predicted class of four points.
#include <kiln/saving.hpp>
#include <kiln/tensor.hpp>

#include <cstdio>
#include <exception>

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: predict MODEL_FILE\n");
    return 2;
  }
  try {
    const auto model = kiln::load_model(argv[1]);
    const kiln::Tensor x = kiln::Tensor::from_vector<float>(
        {0.0f, 0.3f, 1.5f, 0.1f, -0.2f, -0.4f, 0.2f, -1.6f}, {4, 2});
    const kiln::Tensor p = model->predict(x, {.verbose = 0});
    const float *v = p.data<float>();
    for (int i = 0; i < 4; ++i)
      std::printf("%d", v[2 * i + 1] > v[2 * i] ? 1 : 0);
    std::printf("\n");
  } catch (const std::exception &e) {
    std::fprintf(stderr, "predict: %s\n", e.what());
    return 1;
  }
}
