// Layer: parameters plus a forward pass built from ops.
//
// Shapes given to and reported by layers exclude the batch axis, as Keras's
// `input_shape=(32, 32, 3)` does. A layer builds its weights the first time
// it sees an input shape; after that, inputs of another shape are an error
// that names the layer, the expected and the actual shape.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "kiln/initializers.hpp"
#include "kiln/mixed_precision.hpp"
#include "kiln/random.hpp"
#include "kiln/symbolic.hpp"
#include "kiln/tensor.hpp"

namespace kiln::layers {

// A height/width pair; a single number means a square.
struct Size2 {
  Size2(std::int64_t both) : h(both), w(both) {}  // NOLINT: Conv2D(32, 3) as in Keras
  Size2(std::int64_t height, std::int64_t width) : h(height), w(width) {}
  std::int64_t h, w;
  bool operator==(const Size2&) const = default;
};

// Owned through std::shared_ptr when used in models; enable_shared_from_this
// lets a layer called on symbolic tensors put itself into the graph.
class Layer : public std::enable_shared_from_this<Layer> {
 public:
  explicit Layer(std::string name, std::string type_name);
  virtual ~Layer() = default;
  Layer(const Layer&) = default;
  Layer& operator=(const Layer&) = default;

  const std::string& type() const { return type_; }  // "Conv2D"
  const std::string& name() const { return name_; }  // "conv2d_1"
  void set_name(std::string name) { name_ = std::move(name); }

  // Creates the weights for inputs of `input_shape` (batch axis excluded).
  void build(const Shape& input_shape);
  bool built() const { return built_; }
  const Shape& input_shape() const;
  Shape output_shape() const { return compute_output_shape(input_shape()); }
  // Validates `input_shape` for this layer (throwing an Error that names it) and returns the output shape.
  virtual Shape compute_output_shape(const Shape& input_shape) const = 0;

  // Runs the layer on a batch [batch, ...]; builds it on first use.
  Tensor operator()(const Tensor& x, bool training = false);
  // Functional API (see kiln/symbolic.hpp): records a call on a symbolic
  // tensor, building the layer for its shape. A temporary is moved into the
  // graph; a named layer must be owned by a std::shared_ptr (it may be called
  // again, sharing its weights).
  SymbolicTensor operator()(const SymbolicTensor& x) &;
  SymbolicTensor operator()(const SymbolicTensor& x) &&;
  // What operator() checks before computing: builds the layer on first use, then throws an
  // Error naming the layer when x's shape or dtype does not fit. Returns the input to compute
  // with: x, or x cast to this layer's dtype when it is another floating type (Keras's
  // autocasting: float64 data into a float32 model); integers into a layer that does not take
  // ids stay an error, and so does a float input that carries gradients (a cast would cut them).
  [[nodiscard]] Tensor prepare(const Tensor& x);

  // The shape this layer was declared to take (Keras's input_shape argument), if any.
  const std::optional<Shape>& declared_input_shape() const { return declared_input_shape_; }

  struct Weight {
    std::string name;  // "kernel", "bias"
    Tensor value;
    bool trainable = true;
  };
  const std::vector<Weight>& weights() const { return weights_; }
  std::vector<Tensor> trainable_weights() const;
  // Keras's get_weights/set_weights: copies of the values, those created trainable first (kernel,
  // bias; BatchNormalization's gamma, beta, moving_mean, moving_variance). set_weights checks the
  // count and every shape first (an Error names the layer and the weight) and then copies,
  // converting floating dtypes; the layer must be built.
  std::vector<Tensor> get_weights() const;
  void set_weights(const std::vector<Tensor>& values);
  // weights() in the order get_weights lists them (the same handles, not copies).
  std::vector<Weight> weights_in_keras_order() const;
  std::int64_t count_params() const;
  std::int64_t count_trainable_params() const;

  // Freezing a layer (trainable = false) keeps its weights out of training.
  bool trainable() const { return trainable_; }
  void set_trainable(bool trainable);

  // Weights are created in this dtype (float32 by default; float64 for gradient checks).
  DType dtype() const { return dtype_; }
  // Sets the policy of that name ("float32" or "float64"); before the layer is built.
  void set_dtype(DType dtype);
  // Keras's dtype_policy: the global policy when the layer was made, or the one set here
  // (kiln/mixed_precision.hpp). A policy that changes the weights' dtype needs an unbuilt
  // layer; "float32" and "mixed_bfloat16" may be swapped at any time.
  const mixed_precision::DTypePolicy& dtype_policy() const { return policy_; }
  void set_dtype_policy(const mixed_precision::DTypePolicy& policy);
  // What this layer's matrix products and convolutions multiply in (BFloat16 only under
  // mixed_bfloat16 on a CPU with native bf16).
  ComputeType compute_type() const { return policy_.compute_type(); }
  // The input dtypes this layer takes (its own dtype; Embedding takes integers).
  virtual bool accepts_dtype(DType dtype) const { return dtype == dtype_; }
  // Those dtypes in words, for error messages ("float32", "int32 or int64").
  virtual std::string accepted_dtypes() const;
  // accepts_dtype, or a floating dtype that prepare() casts to this layer's own.
  bool takes_dtype(DType dtype) const {
    return accepts_dtype(dtype) || (is_floating(dtype) && is_floating(dtype_) && accepts_dtype(dtype_));
  }

  // What rebuilds this layer, as Keras's get_config: its constructor's
  // arguments (not its weights) plus name, trainable and dtype.
  // layer_from_config(type(), get_config()) gives an equal, unbuilt layer.
  virtual nlohmann::json get_config() const;

  // Keras's layer.losses: the penalties of this layer's regularizers, scalars that fit() adds
  // to the loss (kernel and bias from the weights, activity from the output of the last call).
  virtual std::vector<Tensor> regularization_losses() const { return {}; }
  // Applies this layer's weight constraints; fit() calls it after each optimizer step.
  virtual void apply_constraints() {}

  // The random generators this layer draws from while running (Dropout's masks), so
  // that a checkpoint can save their state and a resumed run draw the same numbers.
  virtual std::vector<Generator*> generators() { return {}; }

 protected:
  virtual void build_weights(const Shape& input_shape, Generator& generator);
  virtual Tensor forward(const Tensor& x, bool training) = 0;
  // Whether an input of `actual` shape fits a layer built for `built`.
  virtual bool accepts(const Shape& built, const Shape& actual) const { return built == actual; }

  Tensor add_weight(const std::string& name, const Shape& shape, const Initializer& initializer,
                    Generator& generator, bool trainable = true);
  // Lists another layer's weight as one of this layer's (a layer built from
  // sublayers, such as TransformerEncoder, owns their weights this way).
  void track_weight(const std::string& name, const Tensor& value, bool trainable = true);
  void set_declared_input_shape(const Shape& shape);
  // "Conv2D 'conv2d_1'", for error messages.
  std::string describe() const;

 private:
  std::string name_, type_;
  bool built_ = false;
  bool trainable_ = true;
  DType dtype_ = DType::Float32;
  mixed_precision::DTypePolicy policy_;
  Shape input_shape_;
  std::optional<Shape> declared_input_shape_;
  std::vector<Weight> weights_;
};

// A fresh Keras-style name: "dense", then "dense_1", "dense_2", ...
std::string unique_name(const std::string& base);

// Rebuilds a layer from its type ("Conv2D") and get_config(); throws an Error
// naming the type when it is unknown or the config does not fit it.
std::shared_ptr<Layer> layer_from_config(const std::string& type, const nlohmann::json& config);
// Every type layer_from_config knows, sorted ("Activation", "Add", ...).
std::vector<std::string> registered_layer_types();

// JSON forms shared by layer configs.
nlohmann::json to_json(const Initializer& initializer);
Initializer initializer_from_json(const nlohmann::json& json);

}  // namespace kiln::layers
