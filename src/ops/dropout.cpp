// Inverted dropout: scale at training time so inference is the identity.
#include "ops/op_helpers.hpp"

namespace kiln {

Tensor dropout(const Tensor& x, double rate, bool training, Generator& generator) {
  ops_detail::check_defined(x, "dropout", "input");
  if (!(rate >= 0.0 && rate < 1.0)) {
    throw Error("dropout: rate must be in [0, 1), got " + std::to_string(rate));
  }
  if (!training || rate == 0.0) return x;
  Tensor mask = Tensor::empty(x.shape(), x.dtype());
  ops_detail::dispatch_floating(x.dtype(), "dropout", [&]<typename T>() {
    T* m = mask.data<T>();
    const T keep_scale = static_cast<T>(1.0 / (1.0 - rate));
    for (std::int64_t i = 0; i < mask.numel(); ++i) m[i] = generator.uniform() >= rate ? keep_scale : T(0);
  });
  return x * mask;  // mul records the backward (g * mask)
}

}  // namespace kiln
