// The data behind a Tensor handle. Internal: users see only kiln::Tensor.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kiln/autograd.hpp"
#include "kiln/tensor.hpp"

namespace kiln {

// A block of device memory shared by a tensor and all of its views.
struct Storage {
  Storage(std::size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data = nullptr;
  std::size_t nbytes = 0;
  Device device;
  // Bumped by every in-place write through the API (copy_, fill_, optimizer
  // steps): autograd notes it when an op saves the data for its backward, and
  // refuses to differentiate through values that changed since.
  std::uint64_t version = 0;
};

// What a softmax or sigmoid output was computed from, so a cross-entropy loss
// can use the exact logits (as Keras does) with or without a recorded graph.
enum class LogitsOf { None, Softmax, Sigmoid };

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  std::int64_t offset = 0;  // in elements
  Shape shape;
  std::vector<std::int64_t> strides;  // in elements
  DType dtype = DType::Float32;

  // Autograd: a leaf has no grad_fn; a computed tensor's grad_fn produced it.
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<autograd::Node> grad_fn;

  std::string name;  // see Tensor::name

  // Set only on the tensor a softmax/sigmoid returned (not on views of it or on
  // results computed from it); `logits_version` is its storage's version then,
  // so an in-place write into the probabilities disowns the logits.
  LogitsOf logits_of = LogitsOf::None;
  Tensor logits;
  std::uint64_t logits_version = 0;

  void* data_ptr() const {
    return static_cast<char*>(storage->data) + offset * static_cast<std::int64_t>(dtype_size(dtype));
  }
};

std::vector<std::int64_t> contiguous_strides(const Shape& shape);

}  // namespace kiln
