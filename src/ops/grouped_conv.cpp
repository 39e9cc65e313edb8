#include "kiln/ops/grouped_conv.hpp"

#include "kiln/ops.hpp"
#include "ops/op_helpers.hpp"

namespace kiln {

Tensor grouped_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& params,
                      std::int64_t groups) {
  ops_detail::check_defined(x, "grouped_conv2d", "input");
  ops_detail::check_defined(w, "grouped_conv2d", "kernel");
  if (groups < 1) throw Error("grouped_conv2d: groups must be positive, got " + std::to_string(groups));
  if (groups == 1) return conv2d(x, w, b, params);
  ops_detail::check_ndim(x, 4, "grouped_conv2d", "input", "[batch, height, width, channels]");
  ops_detail::check_ndim(w, 4, "grouped_conv2d", "kernel", "[kh, kw, in_channels / groups, filters]");
  const std::int64_t channels = x.size(3), filters = w.size(3);
  if (channels % groups != 0 || filters % groups != 0 || w.size(2) != channels / groups) {
    throw Error("grouped_conv2d: with " + std::to_string(groups) + " groups the input channels (" +
                std::to_string(channels) + ") and filters (" + std::to_string(filters) +
                ") must be multiples of groups and the kernel must be [kh, kw, " +
                (channels % groups == 0 ? std::to_string(channels / groups) : std::string("C / groups")) +
                ", filters], got input " + shape_str(x.shape()) + " and kernel " + shape_str(w.shape()));
  }
  const std::int64_t in_per_group = channels / groups, out_per_group = filters / groups;
  std::vector<Tensor> outputs;
  outputs.reserve(static_cast<std::size_t>(groups));
  for (std::int64_t g = 0; g < groups; ++g) {
    const Tensor bias = b.defined() ? narrow(b, 0, g * out_per_group, out_per_group) : Tensor();
    outputs.push_back(conv2d(narrow(x, 3, g * in_per_group, in_per_group),
                             narrow(w, 3, g * out_per_group, out_per_group), bias, params));
  }
  return concat(outputs, 3);
}

Tensor depthwise_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& params) {
  ops_detail::check_defined(x, "depthwise_conv2d", "input");
  ops_detail::check_defined(w, "depthwise_conv2d", "kernel");
  ops_detail::check_ndim(x, 4, "depthwise_conv2d", "input", "[batch, height, width, channels]");
  ops_detail::check_ndim(w, 4, "depthwise_conv2d", "kernel", "[kh, kw, channels, depth_multiplier]");
  if (w.size(2) != x.size(3)) {
    throw Error("depthwise_conv2d: input has " + std::to_string(x.size(3)) + " channels (shape " +
                shape_str(x.shape()) + ") but the kernel expects " + std::to_string(w.size(2)) + " (kernel shape " +
                shape_str(w.shape()) + ")");
  }
  // [KH, KW, C, M] read as [KH, KW, 1, C*M] puts filter (c, m) at c*M + m: groups of M outputs per channel.
  return grouped_conv2d(x, reshape(w, {w.size(0), w.size(1), 1, w.size(2) * w.size(3)}), b, params, x.size(3));
}

}  // namespace kiln
