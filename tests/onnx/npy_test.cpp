// .npy files (kiln/io/npy.hpp) against files NumPy wrote (tests/fixtures/generate_onnx_fixtures.py).
#include "kiln/io/npy.hpp"

#include <gtest/gtest.h>

#include "kiln/io/files.hpp"
#include "support/errors.hpp"
#include "support/process.hpp"

namespace kiln {
namespace {

const std::filesystem::path kNpyFixtures = std::filesystem::path(KILN_TEST_FIXTURES) / "onnx";

TEST(Npy, ReadsWhatNumPyWroteAndWritesTheSameBytes) {
  const Tensor ids = io::read_npy(kNpyFixtures / "npy_int64.npy");
  EXPECT_EQ(ids.dtype(), DType::Int64);
  EXPECT_EQ(ids.to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, -1, 7}));
  EXPECT_EQ(io::npy_to_bytes(ids), io::read_file(kNpyFixtures / "npy_int64.npy"));

  const Tensor x = io::read_npy(kNpyFixtures / "npy_float64.npy");
  EXPECT_EQ(x.shape(), (Shape{2, 2}));
  EXPECT_EQ(x.to_vector<double>(), (std::vector<double>{0.5, -2.0, 1e-3, 4.25}));
  EXPECT_EQ(io::npy_to_bytes(x), io::read_file(kNpyFixtures / "npy_float64.npy"));

  const Tensor images = io::read_npy(kNpyFixtures / "torch_cnn_input.npy");
  EXPECT_EQ(images.shape(), (Shape{4, 3, 18, 18}));
  EXPECT_EQ(io::npy_to_bytes(images), io::read_file(kNpyFixtures / "torch_cnn_input.npy"));
}

TEST(Npy, WrittenFilesRoundTripAndViewsAreWrittenInOrder) {
  testing::TempDir dir;
  const Tensor t = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3}).transpose(0, 1);  // a view
  io::write_npy(t, dir.path() / "t.npy");
  const Tensor back = io::read_npy(dir.path() / "t.npy");
  EXPECT_EQ(back.shape(), (Shape{3, 2}));
  EXPECT_EQ(back.to_vector<float>(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

TEST(Npy, BadFilesAreErrorsNamingTheProblem) {
  const std::string good = io::read_file(kNpyFixtures / "npy_int64.npy");
  auto error = [](const std::string& bytes) { return testing::error_of([&] { io::npy_from_bytes(bytes, "x.npy"); }); };
  EXPECT_NE(error("PK\x03\x04 not npy").find("x.npy: not a .npy file"), std::string::npos);
  EXPECT_NE(error(good.substr(0, good.size() - 1)).find("x.npy: .npy data is 23 bytes; shape [3] of int64 needs 24"),
            std::string::npos)
      << error(good.substr(0, good.size() - 1));
  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  EXPECT_NE(error(fortran).find("Fortran-ordered"), std::string::npos);
  std::string complex = good;
  complex.replace(complex.find("<i8"), 3, "<c8");
  EXPECT_NE(error(complex).find("dtype '<c8' is not supported"), std::string::npos);
}

}  // namespace
}  // namespace kiln
