#include <algorithm>
#include <cmath>
#include <string>

#include "kiln/error.hpp"
#include "kiln/utils.hpp"

namespace kiln::utils {

Tensor to_categorical(const Tensor& labels, std::optional<std::int64_t> num_classes, DType dtype) {
  if (!labels.defined()) throw Error("to_categorical: labels are undefined");
  if (!is_floating(dtype)) {
    throw Error(std::string("to_categorical: dtype must be float32 or float64, got ") + dtype_name(dtype));
  }
  const std::vector<double> values = labels.to_vector<double>();
  std::int64_t largest = -1;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (!(v >= 0) || v != std::floor(v)) {
      throw Error("to_categorical: labels must be whole numbers >= 0, got " + std::to_string(v) + " at index " +
                  std::to_string(i));
    }
    largest = std::max(largest, static_cast<std::int64_t>(v));
  }
  const std::int64_t classes = num_classes.value_or(largest + 1);
  if (classes <= 0) throw Error("to_categorical: num_classes must be positive, got " + std::to_string(classes));
  if (largest >= classes) {
    const auto at = std::find_if(values.begin(), values.end(), [&](double v) { return v >= double(classes); });
    throw Error("to_categorical: label " + std::to_string(static_cast<std::int64_t>(*at)) + " at index " +
                std::to_string(at - values.begin()) + " is not below num_classes " + std::to_string(classes));
  }
  // Keras drops a trailing axis of 1, so [n, 1] labels give [n, classes], not [n, 1, classes].
  Shape shape = labels.shape();
  if (shape.size() > 1 && shape.back() == 1) shape.pop_back();
  shape.push_back(classes);
  Tensor out = Tensor::zeros(shape, dtype);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto index = static_cast<std::int64_t>(i) * classes + static_cast<std::int64_t>(values[i]);
    if (dtype == DType::Float32) {
      out.data<float>()[index] = 1.0f;
    } else {
      out.data<double>()[index] = 1.0;
    }
  }
  return out;
}

}  // namespace kiln::utils
