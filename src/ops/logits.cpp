#include "ops/logits.hpp"

namespace kiln::ops_detail {

void attach_logits(const Tensor& probabilities, const Tensor& logits, LogitsOf kind) {
  TensorImpl& impl = *probabilities.impl();
  impl.logits_of = kind;
  impl.logits = logits;
  impl.logits_version = impl.storage->version;
}

Tensor logits_of(const Tensor& probabilities, LogitsOf kind) {
  const TensorImpl* impl = probabilities.impl();
  if (!impl || impl->logits_of != kind || impl->storage->version != impl->logits_version) return Tensor();
  return impl->logits;
}

}  // namespace kiln::ops_detail
