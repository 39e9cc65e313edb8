// Shapes of convolution and pooling windows, checked once for every op that uses them.
#pragma once
#include "kernels/cpu/conv2d.hpp"
#include "kernels/cpu/pool2d.hpp"
#include "kiln/ops.hpp"

namespace kiln::ops_detail {

// x [N, H, W, C] and w [KH, KW, C, O]; throws naming conv2d and both shapes when they do not fit.
kernels::cpu::Conv2dGeometry conv2d_geometry(const Tensor& x, const Tensor& w, const Conv2dParams& params);
// x is the pooled input's shape [N, H, W, C]; `op` names the op in errors.
kernels::cpu::Pool2dGeometry pool2d_geometry(const Shape& x, const Pool2dParams& params, const char* op);

}  // namespace kiln::ops_detail
