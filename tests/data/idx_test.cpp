#include <gtest/gtest.h>

#include "data/data_test_util.hpp"
#include "kiln/datasets.hpp"

namespace kiln::test {
namespace {

using datasets::read_idx;

Bytes iota_bytes(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7 + 3);
  return b;
}

TEST(IdxTest, ReadsPlainFileWithItsShape) {
  TempDir dir;
  write_file(dir / "x-idx3-ubyte", idx_bytes({2, 3, 4}, iota_bytes(24)));
  Tensor t = read_idx(dir / "x-idx3-ubyte");
  EXPECT_EQ(t.dtype(), DType::UInt8);
  EXPECT_EQ(t.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(t.to_vector<std::uint8_t>(), iota_bytes(24));
}

TEST(IdxTest, ReadsGzipFile) {
  TempDir dir;
  write_gzip(dir / "x-idx3-ubyte.gz", idx_bytes({2, 3, 4}, iota_bytes(24)));
  Tensor t = read_idx(dir / "x-idx3-ubyte.gz");
  EXPECT_EQ(t.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(t.to_vector<std::uint8_t>(), iota_bytes(24));
}

TEST(IdxTest, ReadsLabelsAndEmptyFiles) {
  TempDir dir;
  write_file(dir / "labels", idx_bytes({5}, {9, 0, 3, 1, 7}));
  EXPECT_EQ(read_idx(dir / "labels").to_vector<std::uint8_t>(), (Bytes{9, 0, 3, 1, 7}));
  write_gzip(dir / "none.gz", idx_bytes({0, 28, 28}, {}));
  EXPECT_EQ(read_idx(dir / "none.gz").shape(), (Shape{0, 28, 28}));
}

TEST(IdxTest, MissingFileIsNamed) {
  TempDir dir;
  expect_mentions(error_of([&] { read_idx(dir / "nope-idx1-ubyte.gz"); }), {"nope-idx1-ubyte.gz", "no such file"});
}

TEST(IdxTest, TruncatedPlainFileSaysHowMuchIsMissing) {
  TempDir dir;
  write_file(dir / "short", idx_bytes({2, 3, 4}, iota_bytes(10)));
  expect_mentions(error_of([&] { read_idx(dir / "short"); }),
                  {(dir / "short").string(), "truncated", "header promises 24 bytes of data", "file has 10"});
}

TEST(IdxTest, TruncatedGzipContentSaysHowMuchIsMissing) {
  TempDir dir;
  write_gzip(dir / "short.gz", idx_bytes({2, 3, 4}, iota_bytes(10)));
  expect_mentions(error_of([&] { read_idx(dir / "short.gz"); }),
                  {"short.gz", "truncated", "header promises 24 bytes of data", "file has 10"});
}

TEST(IdxTest, CutGzipStreamIsTruncation) {
  TempDir dir;
  Bytes data(100000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 13);
  write_gzip(dir / "full.gz", idx_bytes({100, 1000}, data));
  Bytes gz = read_file(dir / "full.gz");
  gz.resize(gz.size() / 2);
  write_file(dir / "cut.gz", gz);
  expect_mentions(error_of([&] { read_idx(dir / "cut.gz"); }),
                  {"cut.gz", "truncated", "header promises 100000 bytes of data", "gzip stream ends early"});
}

TEST(IdxTest, ExtraBytesAreAnError) {
  TempDir dir;
  write_file(dir / "long", idx_bytes({4}, {1, 2, 3, 4, 5, 6}));
  expect_mentions(error_of([&] { read_idx(dir / "long"); }), {"long", "header promises 4 bytes", "2 bytes too many"});
  write_gzip(dir / "long.gz", idx_bytes({4}, {1, 2, 3, 4, 5, 6}));
  expect_mentions(error_of([&] { read_idx(dir / "long.gz"); }), {"long.gz", "2 bytes too many"});
}

TEST(IdxTest, BadMagicIsNamed) {
  TempDir dir;
  write_file(dir / "png", {0x89, 'P', 'N', 'G', 0, 0, 0, 0});
  expect_mentions(error_of([&] { read_idx(dir / "png"); }),
                  {"png", "bad magic number 0x89 0x50 0x4E 0x47", "not an IDX"});
  write_file(dir / "unknown-type", {0, 0, 0x07, 1, 0, 0, 0, 0});
  expect_mentions(error_of([&] { read_idx(dir / "unknown-type"); }), {"bad magic number"});
  write_file(dir / "no-dims", {0, 0, 0x08, 0});
  expect_mentions(error_of([&] { read_idx(dir / "no-dims"); }), {"no-dims", "at least one dimension"});
}

TEST(IdxTest, OnlyUnsignedBytesAreSupported) {
  TempDir dir;
  write_file(dir / "floats", {0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0});
  expect_mentions(error_of([&] { read_idx(dir / "floats"); }), {"floats", "0x0D (float32)", "not supported", "0x08"});
}

TEST(IdxTest, TruncatedHeaderIsNamed) {
  TempDir dir;
  write_file(dir / "empty", {});
  expect_mentions(error_of([&] { read_idx(dir / "empty"); }), {"empty", "truncated", "file has 0 bytes"});
  write_file(dir / "half-header", {0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0});
  expect_mentions(error_of([&] { read_idx(dir / "half-header"); }),
                  {"half-header", "truncated", "3 dimension sizes (12 bytes)", "file has 6"});
}

TEST(IdxTest, AbsurdSizesFailWithoutAllocating) {
  TempDir dir;
  // 60000^3 bytes would be 216 TB: the small gzip file cannot hold it.
  write_gzip(dir / "huge.gz", idx_bytes({60000, 60000, 60000}, iota_bytes(100)));
  expect_mentions(error_of([&] { read_idx(dir / "huge.gz"); }),
                  {"huge.gz", "truncated", "header promises 216000000000000 bytes"});
  write_file(dir / "overflow", idx_bytes({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {}));
  expect_mentions(error_of([&] { read_idx(dir / "overflow"); }), {"overflow", "too large"});
  // No data at all (a zero size), yet the other sizes overflow (found by the IDX fuzzer).
  write_file(dir / "empty-but-huge", idx_bytes({0, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {}));
  expect_mentions(error_of([&] { read_idx(dir / "empty-but-huge"); }), {"empty-but-huge", "too large"});
}

TEST(IdxTest, CorruptGzipDataIsAnError) {
  TempDir dir;
  Bytes data(50000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 11);
  write_gzip(dir / "ok.gz", idx_bytes({50000}, data));
  Bytes gz = read_file(dir / "ok.gz");
  for (std::size_t i = gz.size() / 3; i < gz.size() / 3 + 64; ++i) gz[i] ^= 0x5A;
  write_file(dir / "corrupt.gz", gz);
  // zlib reports either the broken deflate data or the CRC mismatch: both name the file.
  expect_mentions(error_of([&] { read_idx(dir / "corrupt.gz"); }), {"corrupt.gz"});
}

}  // namespace
}  // namespace kiln::test
