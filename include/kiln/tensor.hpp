// Tensor: an n-dimensional array on a device, with optional autograd history.
//
// A Tensor is a cheap handle (like torch.Tensor): copies share the same data.
// Views (reshape of contiguous data, slice along the first axis, transpose)
// share storage too; clone() makes an independent copy.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kiln/dtype.hpp"
#include "kiln/shape.hpp"

namespace kiln {

struct TensorImpl;
namespace autograd {
struct Node;
}

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor; defined() is false
  explicit Tensor(std::shared_ptr<TensorImpl> impl);

  // --- creation -----------------------------------------------------------
  static Tensor empty(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::Float32);
  static Tensor ones(const Shape& shape, DType dtype = DType::Float32);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::Float32);
  static Tensor scalar(double value, DType dtype = DType::Float32);
  // Copies `values` into a new tensor; an empty shape means 1-D (use scalar() for 0-d).
  template <typename T>
  static Tensor from_vector(const std::vector<T>& values, Shape shape = {});

  // --- description --------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  const std::vector<std::int64_t>& strides() const;
  int ndim() const;
  std::int64_t size(int axis) const;  // negative axes count from the end
  std::int64_t numel() const;
  DType dtype() const;
  Device device() const;
  bool is_contiguous() const;
  // The values, NumPy-style (rows on lines; more than 1000 elements are summarised with
  // "..." around the first and last three along each axis), then shape and dtype:
  // "Tensor([[1, 2],\n        [3, 4]], shape=[2, 2], dtype=float32)". Also `std::cout << t`.
  std::string str() const;

  // --- data access (the element type must match dtype()) ------------------
  template <typename T>
  T* data();
  template <typename T>
  const T* data() const;
  void* raw_data();
  const void* raw_data() const;
  template <typename T>
  std::vector<T> to_vector() const;  // contiguous copy, converted to T
  double item() const;               // the value of a one-element tensor
  // One element, to read or write: t.at<float>({i, j}) = 1.0f. One index per axis, negative ones
  // counting from the end; T must be the element type (an Error names both otherwise).
  template <typename T>
  T& at(std::initializer_list<std::int64_t> index);
  template <typename T>
  const T& at(std::initializer_list<std::int64_t> index) const;
  // Row i along the first axis (negative from the end), a view that shares this tensor's data
  // and has no autograd history: t[0][1].item(), or t[2].fill_(0) to write a row.
  Tensor operator[](std::int64_t i) const;

  // --- copies and views ---------------------------------------------------
  Tensor contiguous() const;  // itself when already contiguous
  Tensor clone() const;       // always a fresh copy, without autograd history
  Tensor to(DType dtype) const;
  Tensor reshape(const Shape& shape) const;  // one entry may be -1
  Tensor slice(std::int64_t start, std::int64_t end) const;  // rows [start, end) of axis 0
  Tensor transpose(int axis0, int axis1) const;
  Tensor detach() const;  // same data, no autograd history
  void copy_(const Tensor& src);  // overwrite this tensor's values (same shape)
  void fill_(double value);
  // Counts in-place writes to the data this tensor shares with its views (torch's
  // _version). copy_, fill_ and optimizer steps bump it, and backward refuses to
  // use values an op saved if they changed since. Code that writes through
  // data<T>() into an existing tensor should call bump_version() afterwards.
  std::uint64_t version() const;
  void bump_version();

  // --- autograd -------------------------------------------------------------
  bool requires_grad() const;  // true for leaves that ask for it and for results computed from them
  Tensor& set_requires_grad(bool requires_grad = true);
  bool is_leaf() const;
  Tensor grad() const;  // undefined until a backward pass reaches this leaf
  void set_grad(const Tensor& grad);
  void zero_grad();  // drops the gradient (it is rebuilt by the next backward)
  // Back-propagates from this tensor (a scalar unless `grad_output` is given).
  void backward(const Tensor& grad_output = Tensor(), bool retain_graph = false) const;
  const std::shared_ptr<autograd::Node>& grad_fn() const;

  // A label for error messages: a layer's weights are named "<layer>/<weight>"
  // ("dense_1/kernel"), so an optimizer can say which parameter is wrong.
  const std::string& name() const;  // empty when unnamed
  Tensor& set_name(std::string name);

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& out, const Tensor& t);  // t.str()

}  // namespace kiln
