#include "kiln/zoo.hpp"

#include "kiln/layers/conv2d.hpp"
#include "kiln/layers/dense.hpp"
#include "kiln/layers/pooling.hpp"
#include "kiln/layers/reshaping.hpp"

namespace kiln::zoo {

Sequential article_cnn(const Shape& input_shape, std::int64_t classes) {
  using namespace kiln::layers;
  Sequential model;
  model.add(Conv2D(32, {3, 3}, "relu", input_shape));
  model.add(MaxPooling2D({2, 2}));
  model.add(Conv2D(64, {3, 3}, "relu"));
  model.add(MaxPooling2D({2, 2}));
  model.add(Conv2D(64, {3, 3}, "relu"));
  model.add(Flatten());
  model.add(Dense(64, "relu"));
  model.add(Dense(classes, "softmax"));
  return model;
}

}  // namespace kiln::zoo
