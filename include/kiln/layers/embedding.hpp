// Embedding layers: integer token ids in, vectors out.
//
//   Embedding(input_dim, output_dim)             Keras's Embedding: ids [batch, ...] -> [batch, ..., output_dim]
//   PositionEmbedding(sequence_length)           keras_nlp's: a learned vector per position, [batch, T, D] -> the
//                                                position vectors for T positions, broadcast to [batch, T, D]
//   TokenAndPositionEmbedding(vocab, length, D)  keras_nlp's: token vectors plus position vectors
//
// Ids may be int32, int64 or uint8; an id outside [0, input_dim) is an Error
// naming the layer, the id and where it is.
#pragma once
#include "kiln/constraints.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/regularizers.hpp"

namespace kiln::layers {

struct EmbeddingOptions {
  Initializer embeddings_initializer = Initializer::random_uniform(-0.05, 0.05);  // Keras's "uniform"
  regularizers::RegularizerArgument embeddings_regularizer = {};
  regularizers::RegularizerArgument activity_regularizer = {};  // on the layer's output
  constraints::ConstraintArgument embeddings_constraint = {};
  // Id 0 is padding: compute_mask() marks it (Keras's mask_zero). Kiln passes
  // masks explicitly, e.g. lstm.call(x, {.mask = embedding.compute_mask(ids)}).
  bool mask_zero = false;
  Shape input_shape = {};  // e.g. {sequence_length}, only on a model's first layer
  std::string name;
};

class Embedding : public Layer {
 public:
  Embedding(std::int64_t input_dim, std::int64_t output_dim, EmbeddingOptions options = {});

  std::int64_t input_dim() const { return input_dim_; }
  std::int64_t output_dim() const { return output_dim_; }
  const EmbeddingOptions& options() const { return options_; }
  Tensor embeddings() const;  // [input_dim, output_dim]
  // With mask_zero: a uint8 tensor of ids' shape, 1 where the id is not 0. Undefined otherwise.
  Tensor compute_mask(const Tensor& ids) const;

  Shape compute_output_shape(const Shape& input_shape) const override;
  bool accepts_dtype(DType dtype) const override;
  std::string accepted_dtypes() const override { return "int32, int64 or uint8 (token ids)"; }
  nlohmann::json get_config() const override;
  std::vector<Tensor> regularization_losses() const override;
  void apply_constraints() override;

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;
  // Sequences of any length (same number of axes).
  bool accepts(const Shape& built, const Shape& actual) const override { return built.size() == actual.size(); }

 private:
  std::int64_t input_dim_, output_dim_;
  EmbeddingOptions options_;
  Tensor embeddings_;
  Tensor activity_;  // the last output, kept only with an activity_regularizer
};

struct PositionEmbeddingOptions {
  Initializer initializer = "glorot_uniform";
  Shape input_shape = {};
  std::string name;
};

class PositionEmbedding : public Layer {
 public:
  explicit PositionEmbedding(std::int64_t sequence_length, PositionEmbeddingOptions options = {});

  std::int64_t sequence_length() const { return sequence_length_; }
  Tensor embeddings() const;  // [sequence_length, features]
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;
  // Any length up to sequence_length, same features.
  bool accepts(const Shape& built, const Shape& actual) const override;

 private:
  std::int64_t sequence_length_;
  PositionEmbeddingOptions options_;
  Tensor embeddings_;
};

struct TokenAndPositionEmbeddingOptions {
  Initializer embeddings_initializer = "glorot_uniform";
  bool mask_zero = false;
  Shape input_shape = {};  // {sequence_length} on a model's first layer
  std::string name;
};

class TokenAndPositionEmbedding : public Layer {
 public:
  TokenAndPositionEmbedding(std::int64_t vocabulary_size, std::int64_t sequence_length, std::int64_t embedding_dim,
                            TokenAndPositionEmbeddingOptions options = {});

  std::int64_t vocabulary_size() const { return vocabulary_size_; }
  std::int64_t sequence_length() const { return sequence_length_; }
  std::int64_t embedding_dim() const { return embedding_dim_; }
  Tensor compute_mask(const Tensor& ids) const;  // as Embedding's, with mask_zero

  Shape compute_output_shape(const Shape& input_shape) const override;
  bool accepts_dtype(DType dtype) const override;
  std::string accepted_dtypes() const override { return "int32, int64 or uint8 (token ids)"; }
  nlohmann::json get_config() const override;

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;
  bool accepts(const Shape& built, const Shape& actual) const override;

 private:
  std::int64_t vocabulary_size_, sequence_length_, embedding_dim_;
  TokenAndPositionEmbeddingOptions options_;
  Tensor tokens_, positions_;
};

}  // namespace kiln::layers
