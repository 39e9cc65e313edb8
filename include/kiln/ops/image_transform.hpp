// Resizing and affine transforms of images, channels last: x [N, H, W, C], float32 or float64.
// Both are linear in x, and their gradients are the exact adjoints (each output pixel's
// weights sent back to the input pixels it read); the fill value and the transforms get none.
// Keras's Resizing, CenterCrop, RandomCrop, RandomTranslation, RandomRotation and RandomZoom
// are built on them.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "kiln/tensor.hpp"

namespace kiln {

// tf.image.resize (Keras's ops.image.resize) without antialiasing: output pixel (i, j) samples the
// input at ((i + 0.5) * H / height - 0.5, (j + 0.5) * W / width - 0.5), half-pixel centres;
// interpolation "bilinear" (clamped at the border) or "nearest" (floor((i + 0.5) * H / height)).
// crop_to_aspect_ratio first takes the largest centred window of the target's aspect ratio
// (Keras's smart_resize): crop_h = min(H, int(W * height / width)), likewise crop_w, offsets
// int((H - crop_h) / 2) and int((W - crop_w) / 2).
Tensor resize_images(const Tensor& x, std::int64_t height, std::int64_t width,
                     const std::string& interpolation = "bilinear", bool crop_to_aspect_ratio = false);

// Keras's ops.image.affine_transform (TensorFlow's ImageProjectiveTransformV3): one transform
// [a0, a1, a2, b0, b1, b2, c0, c1] per image (or one for all), mapping output point (x, y) to the
// input point ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1. Points
// outside the image are brought in by fill_mode — "reflect" (d c b a | a b c d | d c b a),
// "wrap" (a b c d | a b c d), "nearest" (a a | a b c d | d d) — or get fill_value ("constant").
// interpolation "bilinear" or "nearest" (the input point rounded).
using AffineTransform = std::array<double, 8>;
Tensor affine_transform(const Tensor& x, const std::vector<AffineTransform>& transforms,
                        const std::string& interpolation = "bilinear", const std::string& fill_mode = "constant",
                        double fill_value = 0.0);

}  // namespace kiln
