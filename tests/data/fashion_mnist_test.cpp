#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>

#include "data/data_test_util.hpp"
#include "kiln/datasets.hpp"

namespace kiln::test {
namespace {

namespace fashion_mnist = datasets::fashion_mnist;
const std::filesystem::path kDebianDir = "/usr/share/datasets/fashion-mnist";
const std::array<const char*, 4> kFiles = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

std::uint8_t pixel(int image, int y, int x) { return static_cast<std::uint8_t>(image * 37 + y * 11 + x * 5); }

Bytes images_data(int n) {
  Bytes b;
  for (int i = 0; i < n; ++i) {
    for (int y = 0; y < 28; ++y) {
      for (int x = 0; x < 28; ++x) b.push_back(pixel(i, y, x));
    }
  }
  return b;
}

Bytes labels_data(int n) {
  Bytes b;
  for (int i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>((i * 3) % 10));
  return b;
}

// 4 training and 3 test images; training files gzipped, test files plain, as both occur.
void write_small_dataset(const std::filesystem::path& dir) {
  write_gzip(dir / "train-images-idx3-ubyte.gz", idx_bytes({4, 28, 28}, images_data(4)));
  write_gzip(dir / "train-labels-idx1-ubyte.gz", idx_bytes({4}, labels_data(4)));
  write_file(dir / "t10k-images-idx3-ubyte", idx_bytes({3, 28, 28}, images_data(3)));
  write_file(dir / "t10k-labels-idx1-ubyte", idx_bytes({3}, labels_data(3)));
}

void expect_small_split(const datasets::Split& split, int n) {
  ASSERT_EQ(split.images.shape(), (Shape{n, 28, 28, 1}));
  ASSERT_EQ(split.labels.shape(), (Shape{n}));
  EXPECT_EQ(split.images.to_vector<std::uint8_t>(), images_data(n));
  EXPECT_EQ(split.labels.to_vector<std::uint8_t>(), labels_data(n));
}

// The MD5 of a gzip file's decompressed contents.
std::string md5_of_contents(const std::filesystem::path& gz_file) {
  gzFile gz = gzopen(gz_file.string().c_str(), "rb");
  if (!gz) return "cannot open";
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_md5(), nullptr);
  std::vector<unsigned char> buf(1 << 20);
  for (int n; (n = gzread(gz, buf.data(), static_cast<unsigned>(buf.size()))) > 0;)
    EVP_DigestUpdate(ctx, buf.data(), n);
  gzclose(gz);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_MD_CTX_free(ctx);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += "0123456789abcdef"[digest[i] >> 4];
    hex += "0123456789abcdef"[digest[i] & 15];
  }
  return hex;
}

bool debian_data_present() {
  for (const char* name : kFiles) {
    if (!std::filesystem::exists(kDebianDir / (std::string(name) + ".gz"))) return false;
  }
  return true;
}

TEST(FashionMnistTest, LoadsFolderAsNhwcWithOneChannel) {
  TempDir dir;
  write_small_dataset(dir.path());
  auto data = fashion_mnist::load_from(dir.path());
  expect_small_split(data.train, 4);
  expect_small_split(data.test, 3);
}

TEST(FashionMnistTest, LocatePrefersDataDirAndItsSubfolder) {
  IsolatedEnv env;
  TempDir dir;
  write_small_dataset(dir / "fashion-mnist");
  datasets::LoadOptions options{.data_dir = dir.path(), .download = false};
  EXPECT_EQ(fashion_mnist::locate(options), dir / "fashion-mnist");
  expect_small_split(fashion_mnist::load_data(options).test, 3);
  write_small_dataset(env.kiln_data());
  options.data_dir.reset();
  EXPECT_EQ(fashion_mnist::locate(options), env.kiln_data());
}

TEST(FashionMnistTest, LocateFallsBackToDebianFolder) {
  if (!debian_data_present()) GTEST_SKIP() << "Debian's dataset-fashion-mnist is not installed (" << kDebianDir << ")";
  IsolatedEnv env;
  EXPECT_EQ(fashion_mnist::locate({.download = false}), kDebianDir);
}

TEST(FashionMnistTest, MissingFileIsNamed) {
  TempDir dir;
  write_small_dataset(dir.path());
  std::filesystem::remove(dir / "t10k-labels-idx1-ubyte");
  expect_mentions(error_of([&] { fashion_mnist::load_from(dir.path()); }),
                  {(dir / "t10k-labels-idx1-ubyte").string() + "[.gz]", "no such file", "Fashion-MNIST"});
  expect_mentions(error_of([&] { fashion_mnist::load_from(dir / "nowhere"); }), {"nowhere", "no such folder"});
}

TEST(FashionMnistTest, CountMismatchIsNamed) {
  TempDir dir;
  write_small_dataset(dir.path());
  write_gzip(dir / "train-labels-idx1-ubyte.gz", idx_bytes({5}, labels_data(5)));
  expect_mentions(error_of([&] { fashion_mnist::load_from(dir.path()); }),
                  {"train-images-idx3-ubyte.gz holds 4 images", "train-labels-idx1-ubyte.gz holds 5 labels"});
}

TEST(FashionMnistTest, BadLabelIsNamed) {
  TempDir dir;
  write_small_dataset(dir.path());
  write_file(dir / "t10k-labels-idx1-ubyte", idx_bytes({3}, {1, 2, 11}));
  expect_mentions(error_of([&] { fashion_mnist::load_from(dir.path()); }),
                  {"t10k-labels-idx1-ubyte", "label 11 at index 2", "0..9"});
}

TEST(FashionMnistTest, WrongImageSizeIsNamed) {
  TempDir dir;
  write_small_dataset(dir.path());
  write_file(dir / "t10k-images-idx3-ubyte", idx_bytes({3, 32, 32}, Bytes(3 * 32 * 32)));
  expect_mentions(error_of([&] { fashion_mnist::load_from(dir.path()); }),
                  {"t10k-images-idx3-ubyte", "[n, 28, 28]", "got [3, 32, 32]"});
  write_file(dir / "t10k-images-idx3-ubyte", idx_bytes({3 * 28 * 28}, Bytes(3 * 28 * 28)));
  expect_mentions(error_of([&] { fashion_mnist::load_from(dir.path()); }), {"got [2352]"});
}

TEST(FashionMnistTest, TruncatedFileIsNamed) {
  TempDir dir;
  write_small_dataset(dir.path());
  write_gzip(dir / "train-images-idx3-ubyte.gz", idx_bytes({4, 28, 28}, images_data(3)));
  expect_mentions(error_of([&] { fashion_mnist::load_from(dir.path()); }),
                  {"train-images-idx3-ubyte.gz", "truncated", "header promises 3136 bytes", "file has 2352"});
}

TEST(FashionMnistTest, ClassNames) {
  ASSERT_EQ(fashion_mnist::class_names().size(), 10u);
  EXPECT_EQ(fashion_mnist::class_names()[0], "T-shirt/top");
  EXPECT_EQ(fashion_mnist::class_names()[9], "Ankle boot");
}

// The real data, when Debian's dataset-fashion-mnist package is installed.
TEST(FashionMnistTest, LoadsDebianPackage) {
  if (!debian_data_present()) {
    GTEST_SKIP() << "Debian's dataset-fashion-mnist is not installed (" << kDebianDir
                 << "); `apt-get install dataset-fashion-mnist` to run this test";
  }
  // Debian recompressed the files (their .gz MD5s differ from the official ones), so the
  // decompressed contents are checked against the MD5s published for the official files.
  EXPECT_EQ(md5_of_contents(kDebianDir / "train-images-idx3-ubyte.gz"), "f4a8712d7a061bf5bd6d2ca38dc4d50a");
  EXPECT_EQ(md5_of_contents(kDebianDir / "train-labels-idx1-ubyte.gz"), "9018921c3c673c538a1fc5bad174d6f9");
  EXPECT_EQ(md5_of_contents(kDebianDir / "t10k-images-idx3-ubyte.gz"), "8181f5470baa50b63fa0f6fddb340f0a");
  EXPECT_EQ(md5_of_contents(kDebianDir / "t10k-labels-idx1-ubyte.gz"), "15d484375f8d13e6eb1aabb0c3f46965");

  auto data = fashion_mnist::load_from(kDebianDir);
  EXPECT_EQ(data.train.images.shape(), (Shape{60000, 28, 28, 1}));
  EXPECT_EQ(data.train.labels.shape(), (Shape{60000}));
  EXPECT_EQ(data.test.images.shape(), (Shape{10000, 28, 28, 1}));
  EXPECT_EQ(data.test.labels.shape(), (Shape{10000}));
  for (const auto* split : {&data.train, &data.test}) {
    std::array<int, 10> counts{};
    for (std::uint8_t y : split->labels.to_vector<std::uint8_t>()) ++counts.at(y);
    const int per_class = static_cast<int>(split->labels.numel() / 10);
    for (int c = 0; c < 10; ++c) EXPECT_EQ(counts[c], per_class) << "class " << c;
  }
  // The first training image is an ankle boot (label 9), with ink in the middle of the frame.
  EXPECT_EQ(data.train.labels.to_vector<std::uint8_t>()[0], 9);
  const std::uint8_t* first = data.train.images.data<std::uint8_t>();
  EXPECT_EQ(first[0], 0);
  EXPECT_GT(first[14 * 28 + 14], 0);
}

}  // namespace
}  // namespace kiln::test
