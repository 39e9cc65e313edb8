// Writes the seed corpora the fuzzers start from (committed under fuzz/corpus/):
// small valid model, weights and checkpoint files, IDX files (plain and gzip'd),
// a CIFAR-10 batch and a miniature cifar-10-binary.tar.gz, and Kiln's ONNX exports of the
// layers whose ONNX forms the importer reads (beside the PyTorch files copied from
// tests/fixtures/onnx/).
//
//   build/sanitize/fuzz/kiln_make_fuzz_seeds fuzz/corpus
#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <vector>

#include "kiln/io/files.hpp"
#include "kiln/io/safetensors.hpp"
#include "kiln/kiln.hpp"

namespace fs = std::filesystem;
using namespace kiln;
using namespace kiln::layers;

namespace {

void model_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  manual_seed(1);
  Sequential dense;
  dense.add(Dense(3, DenseOptions{.activation = "relu", .input_shape = {4}, .name = "hidden"}));
  dense.add(Dense(2, DenseOptions{.activation = "softmax", .name = "out"}));
  dense.compile(optim::Adam(), losses::SparseCategoricalCrossentropy(), {"accuracy"});
  const Tensor x = Tensor::ones({4, 4}), y = Tensor::from_vector(std::vector<std::int32_t>{0, 1, 0, 1});
  dense.fit(x, y, {.epochs = 1, .batch_size = 4, .verbose = 0});
  dense.save(dir / "dense_model.safetensors");
  dense.save_weights(dir / "dense_weights.safetensors");

  Sequential cnn;
  cnn.add(Conv2D(2, 3, "relu", {5, 5, 1}));
  cnn.add(MaxPooling2D(2, Pooling2DOptions{.padding = "same"}));
  cnn.add(Flatten());
  cnn.add(Dropout(0.5, std::nullopt, 7));
  cnn.add(Dense(2, "softmax"));
  cnn.compile(optim::SGD(optim::SGDOptions{.learning_rate = 0.1, .momentum = 0.9}),
              losses::SparseCategoricalCrossentropy());
  const Tensor images = Tensor::ones({2, 5, 5, 1}), labels = Tensor::from_vector(std::vector<std::int32_t>{0, 1});
  const fs::path scratch = fs::temp_directory_path() / "kiln-seed-log.csv";
  cnn.fit(
      images, labels,
      {.epochs = 1,
       .batch_size = 2,
       .verbose = 0,
       .validation_data = data::Dataset(images, labels),
       .callbacks = {std::make_shared<callbacks::EarlyStopping>(
                         callbacks::EarlyStoppingOptions{.patience = 3, .restore_best_weights = true}),
                     std::make_shared<callbacks::ReduceLROnPlateau>(), std::make_shared<callbacks::CSVLogger>(scratch),
                     std::make_shared<callbacks::ModelCheckpoint>(dir / "cnn_checkpoint.safetensors")}});
  fs::remove(scratch);
  io::save_safetensors(dir / "plain.safetensors",
                       {{"f64", Tensor::from_vector(std::vector<double>{1.5, -2}, {2})},
                        {"u8", Tensor::from_vector(std::vector<std::uint8_t>{1, 2, 3}, {3, 1})},
                        {"empty", Tensor::zeros({0, 3})}},
                       {{"note", "not a Kiln model"}});
}

std::string idx_bytes(unsigned char type, const std::vector<std::uint32_t>& dims, std::size_t payload) {
  std::string out = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (auto d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((d >> shift) & 0xFF);
  }
  for (std::size_t i = 0; i < payload; ++i) out += static_cast<char>(i * 37 % 256);
  return out;
}

std::string gzip(const std::string& bytes) {
  uLongf size = compressBound(static_cast<uLong>(bytes.size())) + 32;
  std::string out(size, '\0');
  z_stream s{};
  deflateInit2(&s, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);  // + 16: a gzip wrapper
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  s.avail_in = static_cast<uInt>(bytes.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

void idx_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  const std::string images = idx_bytes(0x08, {3, 4, 4}, 48), labels = idx_bytes(0x08, {3}, 3);
  io::write_file_atomically(dir / "images.idx", images);
  io::write_file_atomically(dir / "labels.idx", labels);
  io::write_file_atomically(dir / "images.idx.gz", gzip(images));
  io::write_file_atomically(dir / "float.idx", idx_bytes(0x0D, {2}, 8));
}

std::string cifar_records(int n, int first_label) {
  std::string out;
  for (int r = 0; r < n; ++r) {
    out += static_cast<char>((first_label + r) % 10);
    for (int p = 0; p < 3072; ++p) out += static_cast<char>((p * 7 + r) % 256);
  }
  return out;
}

void cifar_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  io::write_file_atomically(dir / "batch.bin", cifar_records(2, 3));
  // cifar-10-binary.tar.gz in miniature: the six members, one record each.
  std::vector<char> buffer(1 << 20);
  std::size_t used = 0;
  archive* a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_ustar(a);
  archive_write_open_memory(a, buffer.data(), buffer.size(), &used);
  const char* names[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                         "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
  int label = 0;
  for (const char* name : names) {
    const std::string member = cifar_records(1, label++);
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, (std::string("cifar-10-batches-bin/") + name).c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(member.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_write_header(a, e);
    archive_write_data(a, member.data(), member.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  io::write_file_atomically(dir / "cifar-10-binary.tar.gz", std::string(buffer.data(), used));
}

// Every node kind the importer reads back from Kiln's own exports of the Keras layers.
void onnx_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  manual_seed(3);
  auto seq = Input({9, 4}, "seq");
  auto h = Conv1D(4, 3, {.padding = "causal", .dilation_rate = 2, .activation = "elu"})(seq);
  h = MaxPooling1D(2, {.padding = "same"})(ZeroPadding1D(Margins1(1, 2))(h));
  h = UpSampling1D(2)(Cropping1D(Margins1(1, 0))(PReLU()(h)));
  auto sequences = Dense(3, "log_softmax")(GlobalAveragePooling1D()(h));
  auto image = Input({6, 6, 4}, "image");
  auto a = Conv2D(4, 3, Conv2DOptions{.padding = "same", .groups = 2, .activation = "relu6"})(image);
  auto b = DepthwiseConv2D(3, {.padding = "same", .activation = "hard_sigmoid"})(image);
  auto m = Maximum()({Subtract()({a, b}), Multiply()({a, b})});
  auto images = GlobalMaxPooling2D()(Cropping2D(Margins2(1, 0, 0, 1))(ZeroPadding2D(1)(Minimum()({m, a}))));
  Model model({seq, image}, {sequences, Permute({2, 1})(h), images}, "onnx_seed");
  export_onnx(model, dir / "kiln_keras_layers.onnx");
}

// The layers Kiln exports as subgraphs of several nodes, which the importer takes back whole:
// gelu, ReLU with a threshold, LayerNormalization's formula (opset 13), GroupNormalization,
// Bidirectional ("ave"), TimeDistributed, Attention ("concat", causal), AdditiveAttention, Dot,
// Normalization and a folded BatchNormalization (by vectors), Softmax over the steps, ReduceMax,
// a causal pre-norm TransformerEncoder.
void onnx_composite_seed(const fs::path& dir) {
  manual_seed(4);
  auto seq = Input({5, 4}, "seq");
  auto h = ReLU(2.0, 0.1, 0.5)(LayerNormalization()(Dense(4, "gelu")(seq)));
  h = GroupNormalization({.groups = 2})(h);
  h = Bidirectional(GRU(3, {.return_sequences = true}), "ave")(h);
  h = TimeDistributed(Dense(4, "tanh"))(h);
  h = TransformerEncoder(8, 2, {.activation = "gelu", .normalize_first = true, .use_causal_mask = true})(h);
  auto attended = Attention({.use_scale = true, .score_mode = "concat", .use_causal_mask = true})({h, h});
  auto additive = AdditiveAttention()({h, attended});
  auto dots = Dot(DotAxes(2, 2))({h, additive});
  auto normalized = Normalization({.mean = {1, 2, 3, 4}, .variance = {1, 2, 3, 4}})(seq);
  auto pooled = GlobalMaxPooling1D()(Softmax(1)(BatchNormalization()(normalized)));
  Model model({seq}, {Flatten()(dots), Dot(1)({Flatten()(h), Flatten()(attended)}), pooled}, "onnx_composite_seed");
  export_onnx(model, dir / "kiln_composite_layers.onnx", {.opset = 13});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  model_seeds(root / "model_file");
  idx_seeds(root / "idx");
  cifar_seeds(root / "cifar10");
  onnx_seeds(root / "onnx");
  onnx_composite_seed(root / "onnx");
  std::printf("seeds written under %s\n", root.c_str());
  return 0;
}
