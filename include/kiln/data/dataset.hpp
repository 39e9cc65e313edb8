// Dataset: inputs and targets held in memory, handed out in batches.
//
// Images stay uint8 (a quarter of float32's memory); each batch is converted
// to float32 and multiplied by the rescale factor as it is drawn:
//   auto train = kiln::data::Dataset(images, labels).rescale(1.0 / 255);
// int32/int64 inputs are token ids (for an Embedding layer) and are handed
// out unconverted.
//
// A model with several inputs (a functional model built from several Input()s)
// takes a dataset of several input tensors, as Keras's fit([x1, x2], y):
//   model.fit(kiln::data::Dataset({images, captions}, labels), {...});
//   model.predict(kiln::data::Dataset(std::vector<kiln::Tensor>{images, captions}));
// (without targets the list needs its type spelled: {a, b} alone could also mean Dataset(a, b)).
#pragma once
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "kiln/tensor.hpp"

namespace kiln::data {

struct Batch {
  Tensor x;  // float32 (or the stored float dtype, or int32/int64 ids), [batch, ...]
  Tensor y;  // targets in their stored dtype, [batch, ...]
  // Every input, in order, when the dataset has several (inputs[0] is x); empty otherwise.
  std::vector<Tensor> inputs;
  // Every target, in the model's output order, when there are several (targets[0] is y);
  // empty otherwise.
  std::vector<Tensor> targets;
  // Keras's sample_weight: one weight per sample (float64 [batch], a scalar before batching),
  // scaling that sample's loss and weighted metrics; undefined when the data has none.
  Tensor sample_weight;
};

class Dataset {
 public:
  Dataset() = default;
  // x [n, ...] (uint8, int32, int64 or floating), y [n, ...] (any dtype) or undefined (for predict).
  Dataset(Tensor x, Tensor y = Tensor());
  // Several inputs with the same number of samples, one per model input, in the model's order.
  Dataset(std::vector<Tensor> inputs, Tensor y = Tensor());
  // Several targets, one per model output in the model's order (Keras's fit(x, [y1, y2])).
  Dataset(std::vector<Tensor> inputs, std::vector<Tensor> targets);

  // Multiply inputs by `scale` as batches are drawn (1/255 for pixels); token-id
  // inputs of a several-input dataset are left as they are.
  Dataset rescale(double scale) const;
  // The same samples, each with a weight (Keras's fit(x, y, sample_weight=w)): `weights` holds
  // one finite, non-negative number per sample ([n] or [n, 1], any real dtype). Batches carry
  // them as Batch::sample_weight.
  Dataset with_sample_weight(const Tensor& weights) const;

  std::int64_t size() const { return inputs_.empty() ? 0 : inputs_[0].size(0); }
  Shape sample_shape() const;  // the first input's shape without the batch axis
  const Tensor& x() const;     // the first input
  const std::vector<Tensor>& inputs() const { return inputs_; }
  const Tensor& y() const { return y_; }
  // Every target when there are several (targets()[0] is y()); empty otherwise.
  const std::vector<Tensor>& targets() const { return targets_; }
  double scale() const { return scale_; }
  bool has_targets() const { return y_.defined(); }
  const Tensor& sample_weight() const { return sample_weight_; }  // float64 [n], or undefined

  // Rows [start, end) in order.
  Batch batch(std::int64_t start, std::int64_t end) const;
  // The given rows, in the given order.
  Batch gather(std::span<const std::int64_t> indices) const;
  // Rows [start, end) as a dataset sharing this one's memory.
  Dataset subset(std::int64_t start, std::int64_t end) const;

 private:
  std::vector<Tensor> inputs_;
  Tensor y_;
  std::vector<Tensor> targets_;
  Tensor sample_weight_;
  double scale_ = 1.0;
};

}  // namespace kiln::data
