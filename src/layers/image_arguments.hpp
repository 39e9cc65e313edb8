// Checks shared by the 2-D image layers (Conv2D, Conv2DTranspose, the poolings,
// UpSampling2D), so that each states its arguments' and inputs' errors the same
// way. `who` is the layer's describe(): its type and name.
#pragma once
#include <cstdint>
#include <string>

#include "kiln/error.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/shape.hpp"

namespace kiln::layers_detail {

inline void check_padding(const std::string& who, const std::string& padding) {
  if (padding != "valid" && padding != "same") {
    throw Error(who + ": padding must be \"valid\" or \"same\", got \"" + padding + "\"");
  }
}

// A convolution's filters, kernel, strides, dilation and padding.
inline void check_conv_arguments(const std::string& who, std::int64_t filters, layers::Size2 kernel_size,
                                 layers::Size2 strides, layers::Size2 dilation_rate, const std::string& padding) {
  if (filters <= 0) throw Error(who + ": filters must be positive, got " + std::to_string(filters));
  if (kernel_size.h <= 0 || kernel_size.w <= 0) {
    throw Error(who + ": kernel_size must be positive, got (" + std::to_string(kernel_size.h) + ", " +
                std::to_string(kernel_size.w) + ")");
  }
  if (strides.h <= 0 || strides.w <= 0) throw Error(who + ": strides must be positive");
  if (dilation_rate.h <= 0 || dilation_rate.w <= 0) throw Error(who + ": dilation_rate must be positive");
  check_padding(who, padding);
}

// One sample's shape must be [height, width, channels] (the batch axis excluded).
inline void check_image_sample(const std::string& who, const Shape& in) {
  if (in.size() != 3) {
    throw Error(who + ": expected inputs of shape [batch, height, width, channels], got [batch" +
                (in.empty() ? std::string("]") : ", " + shape_str(in).substr(1)));
  }
}

// A built layer's weights fix its input channels.
inline void check_input_channels(const std::string& who, const layers::Layer& layer, const Shape& in) {
  if (layer.built() && in[2] != layer.input_shape()[2]) {
    throw Error(who + ": expected " + std::to_string(layer.input_shape()[2]) + " input channels, got " +
                std::to_string(in[2]));
  }
}

}  // namespace kiln::layers_detail
