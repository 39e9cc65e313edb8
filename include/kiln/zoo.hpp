// Ready-made models.
#pragma once
#include "kiln/sequential.hpp"

namespace kiln::zoo {

// The article's (and Keras tutorial's) CIFAR-10 CNN:
//   Conv2D(32, 3x3, relu) -> MaxPool(2) -> Conv2D(64, 3x3, relu) -> MaxPool(2)
//   -> Conv2D(64, 3x3, relu) -> Flatten -> Dense(64, relu) -> Dense(classes, softmax)
// 122,570 parameters on 32x32x3 inputs; 93,322 on 28x28x1.
Sequential article_cnn(const Shape& input_shape = {32, 32, 3}, std::int64_t classes = 10);

}  // namespace kiln::zoo
