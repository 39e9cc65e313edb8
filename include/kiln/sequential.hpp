// Sequential: a plain stack of layers, each feeding the next.
#pragma once
#include <concepts>
#include <memory>
#include <vector>

#include "kiln/model.hpp"

namespace kiln {

class Sequential : public Model {
 public:
  Sequential();  // named "sequential", "sequential_1", ...
  explicit Sequential(std::vector<std::shared_ptr<layers::Layer>> layers);

  void add(std::shared_ptr<layers::Layer> layer);
  // model.add(kiln::layers::Dense(64, "relu")) — the layer is moved into the model.
  template <typename L>
    requires std::derived_from<std::decay_t<L>, layers::Layer>
  void add(L&& layer) {
    add(std::make_shared<std::decay_t<L>>(std::forward<L>(layer)));
  }

  // Builds every layer for samples of `input_shape` (batch axis excluded).
  // Happens by itself when the first layer declares an input_shape, or on first call.
  void build(const Shape& input_shape);
  bool built() const { return built_; }
  const Shape& input_shape() const;
  Shape output_shape() const;

  Tensor call(const Tensor& x, bool training) override;
  std::vector<std::shared_ptr<layers::Layer>> layers() const override { return layers_; }
  std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes) override;
  void summary(std::ostream& out) const override;
  using Model::summary;

  // {"name", "layers": [{"class_name", "config"}, ...], "build_input_shape"}: the layers'
  // configs in order, and the input shape the model was built for (when built).
  std::string class_name() const override { return "Sequential"; }
  nlohmann::json get_config() const override;
  static std::shared_ptr<Sequential> from_config(const nlohmann::json& config);

 private:
  std::vector<std::shared_ptr<layers::Layer>> layers_;
  bool built_ = false;
  Shape input_shape_;
};

}  // namespace kiln
