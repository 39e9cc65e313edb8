// Pieces of the layer registry (registry.cpp) kept in their own files so that
// groups of layers can be added without editing one long table.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "kiln/layers/layer.hpp"

namespace kiln::layers::registry_detail {

using Factory = std::function<std::shared_ptr<Layer>(const nlohmann::json&)>;

// The layers added for Keras 3 parity (issue 13 part B): global and 1-D
// pooling, Conv1D, depthwise and separable convolutions, padding and cropping,
// Permute, RepeatVector, the elementwise and Dot merges, the noise layers, and
// Group/UnitNormalization. They read the configs Keras 3's get_config writes
// (initializers as {"class_name", "config"}, sizes as lists or numbers, null
// data_format) as well as their own get_config.
const std::map<std::string, Factory>& keras_parity_factories();

}  // namespace kiln::layers::registry_detail
