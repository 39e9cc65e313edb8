// resize_images and affine_transform: argument checks, a sampling plan (kernels/cpu/image_sampling)
// and its gather, and the scatter with the same plan for the gradient.
#include "kiln/ops/image_transform.hpp"

#include <algorithm>
#include <memory>

#include "kernels/cpu/image_sampling.hpp"
#include "ops/op_helpers.hpp"

namespace kiln {
namespace {

namespace cpu = kernels::cpu;

// Applies `plan` to x [N, H, W, C] giving [N, OH, OW, C], recording the backward.
Tensor apply_plan(const Tensor& x_in, std::shared_ptr<const std::vector<cpu::SampleTaps>> plan, std::int64_t OH,
                  std::int64_t OW, double fill_value, const char* op) {
  const Tensor x = x_in.contiguous();
  const std::int64_t N = x.size(0), C = x.size(3), pixels = x.size(0) * x.size(1) * x.size(2);
  const Shape in_shape = x.shape();
  Tensor y = Tensor::empty({N, OH, OW, C}, x.dtype());
  ops_detail::dispatch_floating(
      x.dtype(), op, [&]<typename T>() { cpu::sample_forward<T>(x.data<T>(), *plan, C, fill_value, y.data<T>()); });
  if (autograd::needs_grad({&x_in})) {
    autograd::record(y, op, {x_in}, [plan, in_shape, C, pixels, op](const Tensor& gy_in) -> std::vector<Tensor> {
      const Tensor gy = gy_in.contiguous();
      Tensor gx = Tensor::empty(in_shape, gy.dtype());
      ops_detail::dispatch_floating(
          gy.dtype(), op, [&]<typename T>() { cpu::sample_backward<T>(gy.data<T>(), *plan, C, pixels, gx.data<T>()); });
      return {gx};
    });
  }
  return y;
}

void check_interpolation(const std::string& interpolation, const char* op) {
  if (interpolation != "bilinear" && interpolation != "nearest") {
    throw Error(std::string(op) + ": interpolation must be \"bilinear\" or \"nearest\", got \"" + interpolation + "\"");
  }
}

}  // namespace

Tensor resize_images(const Tensor& x, std::int64_t height, std::int64_t width, const std::string& interpolation,
                     bool crop_to_aspect_ratio) {
  ops_detail::check_defined(x, "resize_images", "input");
  ops_detail::check_ndim(x, 4, "resize_images", "input", "[batch, height, width, channels]");
  if (height < 1 || width < 1) {
    throw Error("resize_images: the size must be at least 1x1, got " + std::to_string(height) + "x" +
                std::to_string(width));
  }
  check_interpolation(interpolation, "resize_images");
  const std::int64_t h = x.size(1), w = x.size(2);
  if (h < 1 || w < 1) throw Error("resize_images: the images are empty (shape " + shape_str(x.shape()) + ")");
  std::int64_t top = 0, left = 0, crop_h = h, crop_w = w;
  if (crop_to_aspect_ratio) {
    crop_h = std::max<std::int64_t>(std::min(h, static_cast<std::int64_t>(double(w * height) / double(width))), 1);
    crop_w = std::max<std::int64_t>(std::min(w, static_cast<std::int64_t>(double(h * width) / double(height))), 1);
    top = static_cast<std::int64_t>(double(h - crop_h) / 2);
    left = static_cast<std::int64_t>(double(w - crop_w) / 2);
  }
  auto plan = std::make_shared<const std::vector<cpu::SampleTaps>>(
      cpu::resize_plan(x.size(0), h, w, height, width, top, left, crop_h, crop_w, interpolation == "nearest"));
  return apply_plan(x, std::move(plan), height, width, 0.0, "resize_images");
}

Tensor affine_transform(const Tensor& x, const std::vector<AffineTransform>& transforms,
                        const std::string& interpolation, const std::string& fill_mode, double fill_value) {
  ops_detail::check_defined(x, "affine_transform", "input");
  ops_detail::check_ndim(x, 4, "affine_transform", "input", "[batch, height, width, channels]");
  check_interpolation(interpolation, "affine_transform");
  cpu::FillMode mode;
  if (fill_mode == "reflect") {
    mode = cpu::FillMode::Reflect;
  } else if (fill_mode == "wrap") {
    mode = cpu::FillMode::Wrap;
  } else if (fill_mode == "constant") {
    mode = cpu::FillMode::Constant;
  } else if (fill_mode == "nearest") {
    mode = cpu::FillMode::Nearest;
  } else {
    throw Error("affine_transform: fill_mode must be \"reflect\", \"wrap\", \"constant\" or \"nearest\", got \"" +
                fill_mode + "\"");
  }
  const std::int64_t N = x.size(0);
  if (transforms.size() != 1 && static_cast<std::int64_t>(transforms.size()) != N) {
    throw Error("affine_transform: expected 1 transform or one per image (" + std::to_string(N) + "), got " +
                std::to_string(transforms.size()));
  }
  std::vector<double> flat;
  flat.reserve(static_cast<std::size_t>(8 * N));
  for (std::int64_t n = 0; n < N; ++n) {
    const AffineTransform& t = transforms[transforms.size() == 1 ? 0 : static_cast<std::size_t>(n)];
    flat.insert(flat.end(), t.begin(), t.end());
  }
  if (interpolation == "nearest" && cpu::translations_only(N, flat.data()) && !autograd::needs_grad({&x})) {
    const Tensor in = x.contiguous();
    Tensor y = Tensor::empty(in.shape(), in.dtype());
    ops_detail::dispatch_floating(in.dtype(), "affine_transform", [&]<typename T>() {
      cpu::translate_nearest<T>(in.data<T>(), N, in.size(1), in.size(2), in.size(3), flat.data(), mode, fill_value,
                                y.data<T>());
    });
    return y;
  }
  auto plan = std::make_shared<const std::vector<cpu::SampleTaps>>(
      cpu::affine_plan(N, x.size(1), x.size(2), flat.data(), interpolation == "nearest", mode));
  return apply_plan(x, std::move(plan), x.size(1), x.size(2), fill_value, "affine_transform");
}

}  // namespace kiln
