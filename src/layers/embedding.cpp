#include "kiln/layers/embedding.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"
#include "layers/weight_regularization.hpp"

namespace kiln::layers {
namespace {

bool is_id_dtype(DType d) { return d == DType::Int32 || d == DType::Int64 || d == DType::UInt8; }

// "[1, 3]": the multi-index of flat position i in `shape`.
std::string embedding_index_str(std::int64_t i, const Shape& shape) {
  Shape index(shape.size());
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    index[d] = shape[d] ? i % shape[d] : 0;
    i = shape[d] ? i / shape[d] : 0;
  }
  return shape_str(index);
}

// Throws, naming the layer, the first id outside [0, limit).
void check_ids(const Tensor& ids, std::int64_t limit, const std::string& who, const char* limit_name) {
  const auto values = ids.to_vector<std::int64_t>();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] < 0 || values[i] >= limit) {
      throw Error(who + ": token id " + std::to_string(values[i]) + " at " +
                  embedding_index_str(static_cast<std::int64_t>(i), ids.shape()) + " of the input (shape " +
                  shape_str(ids.shape()) + ") is outside [0, " + std::to_string(limit) + ") (" + limit_name + " " +
                  std::to_string(limit) + ")");
    }
  }
}

Tensor nonzero_mask(const Tensor& ids) {
  const auto values = ids.to_vector<std::int64_t>();
  Tensor mask = Tensor::empty(ids.shape(), DType::UInt8);
  for (std::size_t i = 0; i < values.size(); ++i) mask.data<std::uint8_t>()[i] = values[i] != 0;
  return mask;
}

void check_positive(std::int64_t v, const std::string& who, const char* what) {
  if (v <= 0) throw Error(who + ": " + what + " must be positive, got " + std::to_string(v));
}

// Sequences longer than the position table are an error naming both lengths.
void check_length(std::int64_t T, std::int64_t sequence_length, const std::string& who) {
  if (T > sequence_length) {
    throw Error(who + ": the input has " + std::to_string(T) + " positions, more than its sequence_length " +
                std::to_string(sequence_length));
  }
}

}  // namespace

// --- Embedding ----------------------------------------------------------------------

Embedding::Embedding(std::int64_t input_dim, std::int64_t output_dim, EmbeddingOptions options)
    : Layer(options.name.empty() ? unique_name("embedding") : options.name, "Embedding"),
      input_dim_(input_dim),
      output_dim_(output_dim),
      options_(std::move(options)) {
  check_positive(input_dim_, describe(), "input_dim");
  check_positive(output_dim_, describe(), "output_dim");
  set_declared_input_shape(options_.input_shape);
}

Shape Embedding::compute_output_shape(const Shape& input_shape) const {
  Shape out = input_shape;
  out.push_back(output_dim_);
  return out;
}

bool Embedding::accepts_dtype(DType dtype) const { return is_id_dtype(dtype); }

void Embedding::build_weights(const Shape&, Generator& gen) {
  embeddings_ = add_weight("embeddings", {input_dim_, output_dim_}, options_.embeddings_initializer, gen);
}

Tensor Embedding::forward(const Tensor& ids, bool) {
  check_ids(ids, input_dim_, describe(), "input_dim");
  Tensor y = embedding(ids, embeddings_);
  if (options_.activity_regularizer) activity_ = y;
  return y;
}

std::vector<Tensor> Embedding::regularization_losses() const {
  return layers_detail::penalties({{options_.embeddings_regularizer, options_.embeddings_constraint, embeddings_}},
                                  options_.activity_regularizer, {activity_});
}

void Embedding::apply_constraints() {
  layers_detail::constrain({{options_.embeddings_regularizer, options_.embeddings_constraint, embeddings_}});
}

Tensor Embedding::compute_mask(const Tensor& ids) const {
  if (!options_.mask_zero) return Tensor();
  if (!ids.defined() || !is_id_dtype(ids.dtype())) throw Error(describe() + ": compute_mask needs integer token ids");
  return nonzero_mask(ids);
}

Tensor Embedding::embeddings() const {
  input_shape();  // throws, naming the layer, when it is not built
  return embeddings_;
}

nlohmann::json Embedding::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["input_dim"] = input_dim_;
  c["output_dim"] = output_dim_;
  c["embeddings_initializer"] = to_json(options_.embeddings_initializer);
  c["mask_zero"] = options_.mask_zero;
  layers_detail::put_regularization_config(c, options_);
  return c;
}

// --- PositionEmbedding ------------------------------------------------------------------

PositionEmbedding::PositionEmbedding(std::int64_t sequence_length, PositionEmbeddingOptions options)
    : Layer(options.name.empty() ? unique_name("position_embedding") : options.name, "PositionEmbedding"),
      sequence_length_(sequence_length),
      options_(std::move(options)) {
  check_positive(sequence_length_, describe(), "sequence_length");
  set_declared_input_shape(options_.input_shape);
}

Shape PositionEmbedding::compute_output_shape(const Shape& in) const {
  if (in.size() != 2) {
    throw Error(describe() + ": expected inputs of shape [batch, time, features], got [batch" +
                (in.empty() ? std::string("]") : ", " + shape_str(in).substr(1)));
  }
  check_length(in[0], sequence_length_, describe());
  return in;
}

bool PositionEmbedding::accepts(const Shape& built, const Shape& actual) const {
  return actual.size() == 2 && actual[1] == built[1];
}

void PositionEmbedding::build_weights(const Shape& in, Generator& gen) {
  embeddings_ = add_weight("embeddings", {sequence_length_, in[1]}, options_.initializer, gen);
}

Tensor PositionEmbedding::forward(const Tensor& x, bool) {
  check_length(x.size(1), sequence_length_, describe());
  return broadcast_to(narrow(embeddings_, 0, 0, x.size(1)), x.shape());
}

Tensor PositionEmbedding::embeddings() const {
  input_shape();
  return embeddings_;
}

nlohmann::json PositionEmbedding::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["sequence_length"] = sequence_length_;
  c["initializer"] = to_json(options_.initializer);
  return c;
}

// --- TokenAndPositionEmbedding -------------------------------------------------------------

TokenAndPositionEmbedding::TokenAndPositionEmbedding(std::int64_t vocabulary_size, std::int64_t sequence_length,
                                                     std::int64_t embedding_dim,
                                                     TokenAndPositionEmbeddingOptions options)
    : Layer(options.name.empty() ? unique_name("token_and_position_embedding") : options.name,
            "TokenAndPositionEmbedding"),
      vocabulary_size_(vocabulary_size),
      sequence_length_(sequence_length),
      embedding_dim_(embedding_dim),
      options_(std::move(options)) {
  check_positive(vocabulary_size_, describe(), "vocabulary_size");
  check_positive(sequence_length_, describe(), "sequence_length");
  check_positive(embedding_dim_, describe(), "embedding_dim");
  set_declared_input_shape(options_.input_shape);
}

Shape TokenAndPositionEmbedding::compute_output_shape(const Shape& in) const {
  if (in.size() != 1) {
    throw Error(describe() + ": expected token ids of shape [batch, time], got [batch" +
                (in.empty() ? std::string("]") : ", " + shape_str(in).substr(1)));
  }
  check_length(in[0], sequence_length_, describe());
  return {in[0], embedding_dim_};
}

bool TokenAndPositionEmbedding::accepts(const Shape&, const Shape& actual) const { return actual.size() == 1; }

bool TokenAndPositionEmbedding::accepts_dtype(DType dtype) const { return is_id_dtype(dtype); }

void TokenAndPositionEmbedding::build_weights(const Shape&, Generator& gen) {
  tokens_ = add_weight("token_embedding/embeddings", {vocabulary_size_, embedding_dim_},
                       options_.embeddings_initializer, gen);
  positions_ = add_weight("position_embedding/embeddings", {sequence_length_, embedding_dim_},
                          options_.embeddings_initializer, gen);
}

Tensor TokenAndPositionEmbedding::forward(const Tensor& ids, bool) {
  check_length(ids.size(1), sequence_length_, describe());
  check_ids(ids, vocabulary_size_, describe(), "vocabulary_size");
  return embedding(ids, tokens_) + narrow(positions_, 0, 0, ids.size(1));
}

Tensor TokenAndPositionEmbedding::compute_mask(const Tensor& ids) const {
  if (!options_.mask_zero) return Tensor();
  if (!ids.defined() || !is_id_dtype(ids.dtype())) throw Error(describe() + ": compute_mask needs integer token ids");
  return nonzero_mask(ids);
}

nlohmann::json TokenAndPositionEmbedding::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["vocabulary_size"] = vocabulary_size_;
  c["sequence_length"] = sequence_length_;
  c["embedding_dim"] = embedding_dim_;
  c["embeddings_initializer"] = to_json(options_.embeddings_initializer);
  c["mask_zero"] = options_.mask_zero;
  return c;
}

}  // namespace kiln::layers
