#include "kiln/tensor.hpp"

#include <cstring>
#include <sstream>

#include "kernels/cpu/copy.hpp"
#include "kiln/autograd.hpp"
#include "kiln/error.hpp"
#include "tensor/allocator.hpp"
#include "tensor/tensor_impl.hpp"

namespace kiln {

Storage::Storage(std::size_t n, Device d) : nbytes(n), device(d) {
  if (d.type != DeviceType::CPU) throw Error("device " + d.str() + " is not available in this build of Kiln");
  data = memory::allocate(n);
}

Storage::~Storage() { memory::release(data, nbytes); }

std::vector<std::int64_t> contiguous_strides(const Shape& shape) {
  std::vector<std::int64_t> strides(shape.size());
  std::int64_t s = 1;
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

Tensor::Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

namespace {

const TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl) {
  if (!impl) throw Error("operation on an undefined tensor");
  return *impl;
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (auto d : shape) {
    if (d < 0) throw Error("Tensor::empty: negative dimension in shape " + shape_str(shape));
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(static_cast<std::size_t>(shape_numel(shape)) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) { return full(shape, 0.0, dtype); }
Tensor Tensor::ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill_(value);
  return t;
}

Tensor Tensor::scalar(double value, DType dtype) { return full({}, value, dtype); }

template <typename T>
Tensor Tensor::from_vector(const std::vector<T>& values, Shape shape) {
  if (shape.empty()) shape = {static_cast<std::int64_t>(values.size())};  // 0-d tensors come from scalar()
  if (shape_numel(shape) != static_cast<std::int64_t>(values.size())) {
    throw Error("Tensor::from_vector: " + std::to_string(values.size()) + " values do not fill shape " +
                shape_str(shape));
  }
  Tensor t = empty(shape, dtype_of<T>());
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  return t;
}

const Shape& Tensor::shape() const { return checked(impl_).shape; }
const std::vector<std::int64_t>& Tensor::strides() const { return checked(impl_).strides; }
int Tensor::ndim() const { return static_cast<int>(shape().size()); }
std::int64_t Tensor::size(int axis) const { return shape()[normalize_axis(axis, ndim(), "Tensor::size")]; }
std::int64_t Tensor::numel() const { return shape_numel(shape()); }
DType Tensor::dtype() const { return checked(impl_).dtype; }
Device Tensor::device() const { return checked(impl_).storage->device; }

bool Tensor::is_contiguous() const {
  const auto& impl = checked(impl_);
  std::int64_t expected = 1;
  for (int i = static_cast<int>(impl.shape.size()) - 1; i >= 0; --i) {
    if (impl.shape[i] != 1 && impl.strides[i] != expected) return false;
    expected *= impl.shape[i];
  }
  return true;
}

template <typename T>
T* Tensor::data() {
  const auto& impl = checked(impl_);
  if (impl.dtype != dtype_of<T>()) {
    throw Error(std::string("Tensor::data: tensor holds ") + dtype_name(impl.dtype) + ", asked for " +
                dtype_name(dtype_of<T>()));
  }
  return static_cast<T*>(impl.data_ptr());
}

template <typename T>
const T* Tensor::data() const {
  return const_cast<Tensor*>(this)->data<T>();
}

void* Tensor::raw_data() { return checked(impl_).data_ptr(); }
const void* Tensor::raw_data() const { return checked(impl_).data_ptr(); }

template <typename T>
std::vector<T> Tensor::to_vector() const {
  const auto& impl = checked(impl_);
  std::vector<T> out(static_cast<std::size_t>(numel()));
  kernels::cpu::strided_copy(impl.data_ptr(), impl.dtype, impl.shape.data(), impl.strides.data(), ndim(), out.data(),
                             dtype_of<T>());
  return out;
}

double Tensor::item() const {
  if (numel() != 1) throw Error("Tensor::item: tensor of shape " + shape_str(shape()) + " has more than one value");
  return to_vector<double>()[0];
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const { return to(dtype()); }

Tensor Tensor::to(DType target) const {
  const auto& impl = checked(impl_);
  Tensor out = empty(impl.shape, target, device());
  kernels::cpu::strided_copy(impl.data_ptr(), impl.dtype, impl.shape.data(), impl.strides.data(), ndim(),
                             out.raw_data(), target);
  return out;
}

namespace {

Tensor make_view(const TensorImpl& base, Shape shape, std::vector<std::int64_t> strides, std::int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.storage;
  impl->offset = offset;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->dtype = base.dtype;
  return Tensor(std::move(impl));
}

}  // namespace

// reshape/slice/transpose here are views without autograd; the differentiable
// versions live in ops (kiln::reshape etc.) and call these.
Tensor Tensor::reshape(const Shape& requested) const {
  const auto& impl = checked(impl_);
  Shape shape = requested;
  std::int64_t known = 1;
  int infer = -1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw Error("reshape: more than one -1 in " + shape_str(requested));
      infer = static_cast<int>(i);
    } else if (shape[i] < 0) {
      throw Error("reshape: negative size in " + shape_str(requested));
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel() % known != 0) {
      throw Error("reshape: cannot reshape " + shape_str(impl.shape) + " into " + shape_str(requested));
    }
    shape[infer] = numel() / known;
  }
  if (shape_numel(shape) != numel()) {
    throw Error("reshape: cannot reshape " + shape_str(impl.shape) + " (" + std::to_string(numel()) +
                " elements) into " + shape_str(requested));
  }
  if (!is_contiguous()) return contiguous().reshape(shape);
  return make_view(impl, shape, contiguous_strides(shape), impl.offset);
}

Tensor Tensor::slice(std::int64_t start, std::int64_t end) const {
  const auto& impl = checked(impl_);
  if (impl.shape.empty()) throw Error("slice: cannot slice a scalar");
  if (start < 0 || end < start || end > impl.shape[0]) {
    throw Error("slice: rows [" + std::to_string(start) + ", " + std::to_string(end) + ") out of range for shape " +
                shape_str(impl.shape));
  }
  Shape shape = impl.shape;
  shape[0] = end - start;
  return make_view(impl, shape, impl.strides, impl.offset + start * impl.strides[0]);
}

Tensor Tensor::transpose(int axis0, int axis1) const {
  const auto& impl = checked(impl_);
  const int a = normalize_axis(axis0, ndim(), "transpose");
  const int b = normalize_axis(axis1, ndim(), "transpose");
  Shape shape = impl.shape;
  auto strides = impl.strides;
  std::swap(shape[a], shape[b]);
  std::swap(strides[a], strides[b]);
  return make_view(impl, shape, strides, impl.offset);
}

Tensor Tensor::detach() const {
  const auto& impl = checked(impl_);
  return make_view(impl, impl.shape, impl.strides, impl.offset);
}

void Tensor::copy_(const Tensor& src) {
  const auto& impl = checked(impl_);
  if (src.shape() != impl.shape) {
    throw Error("copy_: source shape " + shape_str(src.shape()) + " differs from destination " +
                shape_str(impl.shape));
  }
  if (!is_contiguous()) throw Error("copy_: destination must be contiguous");
  const auto& s = checked(src.impl_ptr());
  kernels::cpu::strided_copy(s.data_ptr(), s.dtype, s.shape.data(), s.strides.data(), src.ndim(), impl.data_ptr(),
                             impl.dtype);
  ++impl.storage->version;
}

void Tensor::fill_(double value) {
  if (!is_contiguous()) throw Error("fill_: tensor must be contiguous");
  kernels::cpu::fill(raw_data(), dtype(), numel(), value);
  ++impl_->storage->version;
}

std::uint64_t Tensor::version() const { return checked(impl_).storage->version; }
void Tensor::bump_version() { ++checked(impl_).storage->version; }

bool Tensor::requires_grad() const {
  const auto& impl = checked(impl_);
  return impl.requires_grad || impl.grad_fn != nullptr;
}

Tensor& Tensor::set_requires_grad(bool requires_grad) {
  auto& impl = const_cast<TensorImpl&>(checked(impl_));
  if (requires_grad && !is_floating(impl.dtype)) {
    throw Error(std::string("set_requires_grad: only floating tensors can require gradients, this one is ") +
                dtype_name(impl.dtype));
  }
  impl.requires_grad = requires_grad;
  return *this;
}

bool Tensor::is_leaf() const { return checked(impl_).grad_fn == nullptr; }
Tensor Tensor::grad() const { return checked(impl_).grad; }

void Tensor::set_grad(const Tensor& grad) {
  if (grad.defined() && grad.shape() != shape()) {
    throw Error("set_grad: gradient shape " + shape_str(grad.shape()) + " differs from tensor shape " +
                shape_str(shape()));
  }
  const_cast<TensorImpl&>(checked(impl_)).grad = grad;
}

void Tensor::zero_grad() { const_cast<TensorImpl&>(checked(impl_)).grad = Tensor(); }

void Tensor::backward(const Tensor& grad_output, bool retain_graph) const {
  autograd::backward(*this, grad_output, retain_graph);
}

const std::shared_ptr<autograd::Node>& Tensor::grad_fn() const { return checked(impl_).grad_fn; }

const std::string& Tensor::name() const { return checked(impl_).name; }

Tensor& Tensor::set_name(std::string name) {
  const_cast<TensorImpl&>(checked(impl_)).name = std::move(name);
  return *this;
}

#define KILN_INSTANTIATE(T)                                                  \
  template Tensor Tensor::from_vector<T>(const std::vector<T>&, Shape);      \
  template T* Tensor::data<T>();                                             \
  template const T* Tensor::data<T>() const;                                 \
  template std::vector<T> Tensor::to_vector<T>() const;
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
KILN_INSTANTIATE(std::uint8_t)
KILN_INSTANTIATE(std::int32_t)
KILN_INSTANTIATE(std::int64_t)
#undef KILN_INSTANTIATE

}  // namespace kiln
