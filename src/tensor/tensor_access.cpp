// Element and row access on a Tensor handle: at<T>({i, j}) and t[i].
#include <string>

#include "kiln/error.hpp"
#include "tensor/tensor_impl.hpp"

namespace kiln {
namespace {

std::string index_str(std::initializer_list<std::int64_t> index) {
  std::string s = "{";
  for (auto i : index) s += (s.size() > 1 ? ", " : "") + std::to_string(i);
  return s + "}";
}

}  // namespace

template <typename T>
T& Tensor::at(std::initializer_list<std::int64_t> index) {
  if (!defined()) throw Error("Tensor::at: the tensor is undefined");
  const TensorImpl& impl = *impl_;
  if (impl.dtype != dtype_of<T>()) {
    throw Error(std::string("Tensor::at: the tensor holds ") + dtype_name(impl.dtype) + ", asked for " +
                dtype_name(dtype_of<T>()) + " (use at<" + dtype_name(impl.dtype) + "> or to())");
  }
  if (index.size() != impl.shape.size()) {
    throw Error("Tensor::at: index " + index_str(index) + " has " + std::to_string(index.size()) +
                " entries for a tensor of shape " + shape_str(impl.shape) + " (one per axis)");
  }
  std::int64_t offset = impl.offset;
  std::size_t axis = 0;
  for (std::int64_t i : index) {
    const std::int64_t n = impl.shape[axis];
    if (i < -n || i >= n) {
      throw Error("Tensor::at: index " + std::to_string(i) + " is out of range for axis " + std::to_string(axis) +
                  " of size " + std::to_string(n) + " (shape " + shape_str(impl.shape) + ")");
    }
    offset += (i < 0 ? i + n : i) * impl.strides[axis];
    ++axis;
  }
  return static_cast<T*>(impl.storage->data)[offset];
}

template <typename T>
const T& Tensor::at(std::initializer_list<std::int64_t> index) const {
  return const_cast<Tensor*>(this)->at<T>(index);
}

Tensor Tensor::operator[](std::int64_t i) const {
  if (!defined()) throw Error("Tensor::operator[]: the tensor is undefined");
  const TensorImpl& base = *impl_;
  if (base.shape.empty()) throw Error("Tensor::operator[]: a scalar has no rows (use item())");
  const std::int64_t n = base.shape[0];
  if (i < -n || i >= n) {
    throw Error("Tensor::operator[]: row " + std::to_string(i) + " is out of range for shape " + shape_str(base.shape));
  }
  // A copy of the handle's description keeps whatever else views share (storage, dtype);
  // the autograd fields are cleared: a row is data access, not part of a graph.
  auto impl = std::make_shared<TensorImpl>(base);
  impl->offset = base.offset + (i < 0 ? i + n : i) * base.strides[0];
  impl->shape.erase(impl->shape.begin());
  impl->strides.erase(impl->strides.begin());
  impl->requires_grad = false;
  impl->grad = Tensor();
  impl->grad_fn = nullptr;
  impl->name.clear();
  return Tensor(std::move(impl));
}

#define KILN_INSTANTIATE_AT(T)                                    \
  template T& Tensor::at<T>(std::initializer_list<std::int64_t>); \
  template const T& Tensor::at<T>(std::initializer_list<std::int64_t>) const;
KILN_INSTANTIATE_AT(float)
KILN_INSTANTIATE_AT(double)
KILN_INSTANTIATE_AT(std::uint8_t)
KILN_INSTANTIATE_AT(std::int32_t)
KILN_INSTANTIATE_AT(std::int64_t)
#undef KILN_INSTANTIATE_AT

}  // namespace kiln
