// The safetensors reader and writer: the layout the format specifies, and a clear
// Error (never a crash or a huge allocation) for every kind of broken file.
#include "kiln/io/safetensors.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "support/errors.hpp"

namespace kiln {
namespace {

using io::decode_safetensors;
using io::encode_safetensors;
using json = nlohmann::json;

using testing::error_of;

// A file with the given header text and `data_bytes` zero bytes of data.
std::string file_with_header(const std::string& header, std::size_t data_bytes) {
  std::string out(8, '\0');
  const std::uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + std::string(data_bytes, '\0');
}

TEST(Safetensors, WritesTheSpecifiedLayout) {
  const Tensor a = Tensor::from_vector(std::vector<float>{1.5f, -2, 3, 4, 5, 6}, {2, 3});
  const Tensor b = Tensor::from_vector(std::vector<std::int64_t>{7, -8});
  const std::string bytes = encode_safetensors({{"layer/a", a}, {"b", b}}, {{"note", "hello"}});
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u) << "the data starts 8-byte aligned";
  const json header = json::parse(bytes.substr(8, n));
  EXPECT_EQ(header["__metadata__"]["note"], "hello");
  EXPECT_EQ(header["layer/a"]["dtype"], "F32");
  EXPECT_EQ(header["layer/a"]["shape"], json({2, 3}));
  EXPECT_EQ(header["layer/a"]["data_offsets"], json({0, 24}));
  EXPECT_EQ(header["b"]["dtype"], "I64");
  EXPECT_EQ(header["b"]["data_offsets"], json({24, 40}));
  ASSERT_EQ(bytes.size(), 8 + n + 40);
  float first;
  std::memcpy(&first, bytes.data() + 8 + n, 4);
  EXPECT_EQ(first, 1.5f);
}

TEST(Safetensors, RoundTripsEveryDtypeExactly) {
  const std::vector<io::NamedTensor> tensors = {
      {"f32", Tensor::from_vector(std::vector<float>{0.1f, -0.0f, 3e38f}, {3})},
      {"f64", Tensor::from_vector(std::vector<double>{0.1, 1e-300}, {1, 2})},
      {"u8", Tensor::from_vector(std::vector<std::uint8_t>{0, 255}, {2})},
      {"i32", Tensor::from_vector(std::vector<std::int32_t>{-5}, {1, 1, 1})},
      {"scalar", Tensor::scalar(2.5, DType::Float64)},
      {"empty", Tensor::zeros({0, 4})},
  };
  const auto file = decode_safetensors(encode_safetensors(tensors, {{"a", "1"}, {"b", "é"}}));
  EXPECT_EQ(file.metadata.at("b"), "é");
  ASSERT_EQ(file.tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    const Tensor* got = file.find(name);
    ASSERT_NE(got, nullptr) << name;
    EXPECT_EQ(got->dtype(), t.dtype()) << name;
    EXPECT_EQ(got->shape(), t.shape()) << name;
    EXPECT_EQ(std::memcmp(got->raw_data(), t.raw_data(), t.numel() * dtype_size(t.dtype())), 0) << name;
  }
}

TEST(Safetensors, BrokenFilesGiveErrorsNamingTheProblem) {
  const auto f32 = [](const std::string& offsets, const std::string& shape = "[2]") {
    return R"("t": {"dtype": "F32", "shape": )" + shape + R"(, "data_offsets": )" + offsets + "}";
  };
  struct Case {
    std::string name, bytes, expect;
  };
  std::string huge(8, '\0');
  const std::uint64_t big = 1ull << 62;
  std::memcpy(huge.data(), &big, 8);
  const std::vector<Case> cases = {
      {"empty", "", "truncated"},
      {"short", "abc", "truncated"},
      {"header length past the end", huge + "{}", "exceeds"},
      {"not JSON", file_with_header("{nope", 0), "not valid JSON"},
      {"not an object", file_with_header("[1, 2]", 0), "does not start with '{'"},
      {"non-UTF-8 name", file_with_header("{\"\xff\xfe\": {}}", 0), "not valid JSON"},
      {"overlap",
       file_with_header(
           "{" + f32("[0, 8]") + ", \"u\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 12),
       "overlap"},
      {"gap", file_with_header("{" + f32("[4, 12]") + "}", 12), "belong to no tensor"},
      {"past the data", file_with_header("{" + f32("[0, 8]") + "}", 4), "reach past"},
      {"offsets backwards", file_with_header("{" + f32("[8, 0]") + "}", 8), "end before they begin"},
      {"size mismatch", file_with_header("{" + f32("[0, 12]") + "}", 12), "needs 8 bytes"},
      {"absurd shape", file_with_header("{" + f32("[0, 8]", "[4294967296, 4294967296]") + "}", 8),
       "larger than the file"},
      {"negative shape", file_with_header("{" + f32("[0, 8]", "[-2]") + "}", 8), "non-negative"},
      {"trailing data", file_with_header("{" + f32("[0, 8]") + "}", 16), "end at byte 8"},
      {"unknown dtype", file_with_header(R"({"t": {"dtype": "F128", "shape": [], "data_offsets": [0, 16]}})", 16),
       "unknown dtype"},
      {"unsupported dtype", file_with_header(R"({"t": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]}})", 2),
       "F16"},
      {"duplicate name", file_with_header("{" + f32("[0, 8]") + ", " + f32("[8, 16]") + "}", 16), "twice"},
      {"deep nesting", file_with_header("{\"__metadata__\": " + std::string(100, '[') + std::string(100, ']') + "}", 0),
       "deeper"},
      {"metadata not strings", file_with_header(R"({"__metadata__": {"a": 1}})", 0), "not a string"},
      {"missing offsets", file_with_header(R"({"t": {"dtype": "F32", "shape": [1]}})", 4), "data_offsets"},
      {"extra field", file_with_header(R"({"t": {"dtype": "F32", "shape": [], "data_offsets": [0, 4], "x": 1}})", 4),
       "unknown field"},
  };
  for (const auto& c : cases) {
    const std::string msg = error_of([&] { decode_safetensors(c.bytes, "model.safetensors"); });
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.name << ": " << msg;
    EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << c.name << " names the file: " << msg;
  }
}

TEST(Safetensors, EveryTruncationIsAnError) {
  const std::string bytes = encode_safetensors({{"w", Tensor::ones({3, 5})}, {"b", Tensor::zeros({5})}});
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_THROW(decode_safetensors(std::string_view(bytes).substr(0, n)), Error) << n << " bytes";
  }
  EXPECT_NO_THROW(decode_safetensors(bytes));
}

TEST(Safetensors, WriterRefusesWhatItCannotWrite) {
  EXPECT_NE(error_of([] {
              encode_safetensors({{"a", Tensor::ones({1})}, {"a", Tensor::ones({1})}});
            }).find("two tensors"),
            std::string::npos);
  EXPECT_NE(error_of([] { encode_safetensors({{"\xff", Tensor::ones({1})}}); }).find("header"), std::string::npos);
}

}  // namespace
}  // namespace kiln
