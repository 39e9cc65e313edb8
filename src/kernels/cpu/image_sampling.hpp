// Image sampling, channels last: each output pixel of a resize or of an affine transform is a
// weighted sum of at most four input pixels of its own image, plus a weight on a fill value.
//   x [N, H, W, C] -> y [N, OH, OW, C],   y[p, c] = sum_k weight[k] * x[pixel[k], c] + fill * fill_value
// A plan lists those taps once per call; the forward pass gathers with them and the backward
// scatters with the same taps, so the gradient is the exact adjoint of the forward.
#pragma once
#include <cstdint>
#include <vector>

namespace kiln::kernels::cpu {

struct SampleTaps {
  std::int64_t pixel[4] = {0, 0, 0, 0};  // flat input pixel index n*H*W + y*W + x
  double weight[4] = {0, 0, 0, 0};       // 0 for unused taps
  double fill = 0;                       // weight of the fill value
};

// tf.image.resize (half-pixel centres, no antialiasing) of the window [top, top + crop_h) x
// [left, left + crop_w) of each image [H, W] to [OH, OW]; "nearest" when nearest, else bilinear.
std::vector<SampleTaps> resize_plan(std::int64_t N, std::int64_t H, std::int64_t W, std::int64_t OH, std::int64_t OW,
                                    std::int64_t top, std::int64_t left, std::int64_t crop_h, std::int64_t crop_w,
                                    bool nearest);

enum class FillMode { Reflect, Wrap, Constant, Nearest };

// TensorFlow's ImageProjectiveTransformV3 (Keras's ops.image.affine_transform), output size = input
// size: transforms holds 8 numbers per image [a0 a1 a2 b0 b1 b2 c0 c1]; output (x, y) reads the input
// at ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k) with k = c0 x + c1 y + 1, mapped into the
// image by the fill mode.
std::vector<SampleTaps> affine_plan(std::int64_t N, std::int64_t H, std::int64_t W, const double* transforms,
                                    bool nearest, FillMode mode);

// True when each of the N transforms is a translation alone ([1 0 a2 0 1 b2 0 0]).
bool translations_only(std::int64_t N, const double* transforms);
// affine_plan + sample_forward for translations with "nearest" sampling, without a plan: each
// output row and column reads one input row and column (or the fill value), so the images
// are copied row by row (RandomTranslation's common case; the same values as the plan's).
template <typename T>
void translate_nearest(const T* x, std::int64_t N, std::int64_t H, std::int64_t W, std::int64_t C,
                       const double* transforms, FillMode mode, double fill_value, T* y);

// y [P, C] where P = taps.size().
template <typename T>
void sample_forward(const T* x, const std::vector<SampleTaps>& taps, std::int64_t C, double fill_value, T* y);
// gx [N*H*W, C] is overwritten.
template <typename T>
void sample_backward(const T* gy, const std::vector<SampleTaps>& taps, std::int64_t C, std::int64_t input_pixels,
                     T* gx);

}  // namespace kiln::kernels::cpu
