// kiln::model_from_json: Keras's keras.models.model_from_json — a model with fresh weights from
// the architecture JSON that Keras 3's model.to_json() writes,
//   {"module": "keras", "class_name": "Sequential" | "Functional", "config": {...}, ...},
// or Kiln's own model_to_json(). Keras 3's forms are read as they are written: InputLayer
// entries with "batch_shape", call nodes {"args": [keras tensors], "kwargs": {}} naming their
// inputs by "keras_history", a leading null batch size in shapes. An Error names what does not
// fit: a layer class Kiln lacks ("unknown layer type \"RandomHue\"; known types: ..."), a config
// value, text that is not JSON.
#pragma once
#include <memory>
#include <string>

#include "kiln/model.hpp"

namespace kiln {

std::shared_ptr<Model> model_from_json(const std::string& json_text);

}  // namespace kiln
