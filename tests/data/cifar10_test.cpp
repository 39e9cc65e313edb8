#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <array>

#include "data/data_test_util.hpp"
#include "kiln/datasets.hpp"

namespace kiln::test {
namespace {

namespace cifar10 = datasets::cifar10;
constexpr std::size_t kRecord = 3073;
const std::array<const char*, 6> kBatchFiles = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                                "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};

// A distinct value for each (batch, record, channel, row, column), so that any
// misplaced pixel shows.
std::uint8_t cifar_pixel(int batch, int record, int channel, int y, int x) {
  return static_cast<std::uint8_t>(batch * 101 + record * 53 + channel * 29 + y * 7 + x * 3 + (x * y) % 5);
}
std::uint8_t label(int batch, int record) { return static_cast<std::uint8_t>((batch * 3 + record) % 10); }

// A batch file in the official layout: per record a label, then the R, G and B planes.
Bytes batch_bytes(int batch, int records) {
  Bytes out;
  for (int r = 0; r < records; ++r) {
    out.push_back(label(batch, r));
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < 32; ++y) {
        for (int x = 0; x < 32; ++x) out.push_back(cifar_pixel(batch, r, c, y, x));
      }
    }
  }
  return out;
}

// Train batches of 3 records each and a test batch of 2: the loader must take any
// whole number of records (the release has 10000 per file).
int records_in(int batch) { return batch == 5 ? 2 : 3; }

std::filesystem::path write_batches(const std::filesystem::path& folder) {
  for (int b = 0; b < 6; ++b) write_file(folder / kBatchFiles[b], batch_bytes(b, records_in(b)));
  write_file(folder / "batches.meta.txt", {'a', 'i', 'r', 'p', 'l', 'a', 'n', 'e', '\n'});
  return folder;
}

// A gzipped tar holding `members` (name, bytes), as the official tarball does.
void write_tarball(const std::filesystem::path& file, const std::vector<std::pair<std::string, Bytes>>& members) {
  std::filesystem::create_directories(file.parent_path());
  archive* a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_pax_restricted(a);
  ASSERT_EQ(archive_write_open_filename(a, file.string().c_str()), ARCHIVE_OK) << archive_error_string(a);
  archive_entry* dir = archive_entry_new();
  archive_entry_set_pathname(dir, "cifar-10-batches-bin/");
  archive_entry_set_filetype(dir, AE_IFDIR);
  archive_entry_set_perm(dir, 0755);
  archive_write_header(a, dir);
  archive_entry_free(dir);
  for (const auto& [name, bytes] : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(bytes.size()));
    ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    archive_write_data(a, bytes.data(), bytes.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

std::vector<std::pair<std::string, Bytes>> official_members() {
  std::vector<std::pair<std::string, Bytes>> members = {{"cifar-10-batches-bin/readme.html", {'<', 'p', '>'}}};
  // Out of order, as an archiver may store them.
  for (int b : {5, 2, 0, 4, 1, 3}) {
    members.emplace_back(std::string("cifar-10-batches-bin/") + kBatchFiles[b], batch_bytes(b, records_in(b)));
  }
  return members;
}

// Checks every pixel and label of a split made from `batches`.
void expect_split(const datasets::Split& split, std::initializer_list<int> batches) {
  int n = 0;
  for (int b : batches) n += records_in(b);
  ASSERT_EQ(split.images.shape(), (Shape{n, 32, 32, 3}));
  ASSERT_EQ(split.labels.shape(), (Shape{n}));
  ASSERT_EQ(split.images.dtype(), DType::UInt8);
  ASSERT_EQ(split.labels.dtype(), DType::UInt8);
  const std::uint8_t* img = split.images.data<std::uint8_t>();
  const std::uint8_t* lab = split.labels.data<std::uint8_t>();
  int i = 0, mismatches = 0;
  for (int b : batches) {
    for (int r = 0; r < records_in(b); ++r, ++i) {
      EXPECT_EQ(lab[i], label(b, r)) << "image " << i;
      for (int y = 0; y < 32; ++y) {
        for (int x = 0; x < 32; ++x) {
          for (int c = 0; c < 3; ++c) {
            // NHWC: channel fastest, then column, row, image.
            const std::uint8_t got = img[((i * 32 + y) * 32 + x) * 3 + c];
            if (got != cifar_pixel(b, r, c, y, x) && mismatches++ < 5) {
              ADD_FAILURE() << "image " << i << " y " << y << " x " << x << " c " << c << ": got " << int(got)
                            << ", expected " << int(cifar_pixel(b, r, c, y, x));
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
}

void expect_official_layout(const datasets::TrainTest& data) {
  expect_split(data.train, {0, 1, 2, 3, 4});
  expect_split(data.test, {5});
}

TEST(Cifar10Test, LoadsBatchesFolderAsNhwc) {
  TempDir dir;
  auto folder = write_batches(dir / "cifar-10-batches-bin");
  expect_official_layout(cifar10::load_from(folder));
  // The folder that holds cifar-10-batches-bin works too.
  expect_official_layout(cifar10::load_from(dir.path()));
}

TEST(Cifar10Test, LoadsTarballWithoutExtracting) {
  TempDir dir;
  write_tarball(dir / "cifar-10-binary.tar.gz", official_members());
  expect_official_layout(cifar10::load_from(dir / "cifar-10-binary.tar.gz"));
  EXPECT_FALSE(std::filesystem::exists(dir / "cifar-10-batches-bin"));
}

TEST(Cifar10Test, ClassNames) {
  ASSERT_EQ(cifar10::class_names().size(), 10u);
  EXPECT_EQ(cifar10::class_names()[0], "airplane");
  EXPECT_EQ(cifar10::class_names()[9], "truck");
}

TEST(Cifar10Test, MissingBatchFileIsNamed) {
  TempDir dir;
  auto folder = write_batches(dir / "cifar-10-batches-bin");
  std::filesystem::remove(folder / "data_batch_4.bin");
  expect_mentions(error_of([&] { cifar10::load_from(folder); }),
                  {(folder / "data_batch_4.bin").string(), "no such file", "test_batch.bin"});
}

TEST(Cifar10Test, TruncatedBatchReportsExpectedAndActualBytes) {
  TempDir dir;
  auto folder = write_batches(dir / "cifar-10-batches-bin");
  Bytes cut = batch_bytes(2, 3);
  cut.resize(cut.size() - 100);  // 9119 bytes: the last record lacks 100
  write_file(folder / "data_batch_3.bin", cut);
  expect_mentions(
      error_of([&] { cifar10::load_from(folder); }),
      {"data_batch_3.bin", "truncated", "3073-byte records", "expected 9219 bytes for 3 records", "file has 9119"});
  write_file(folder / "data_batch_3.bin", {});
  expect_mentions(error_of([&] { cifar10::load_from(folder); }), {"data_batch_3.bin", "empty"});
}

TEST(Cifar10Test, BadLabelNamesFileAndRecord) {
  TempDir dir;
  auto folder = write_batches(dir / "cifar-10-batches-bin");
  Bytes bytes = batch_bytes(1, 3);
  bytes[1 * kRecord] = 10;
  write_file(folder / "data_batch_2.bin", bytes);
  expect_mentions(error_of([&] { cifar10::load_from(folder); }),
                  {"data_batch_2.bin", "record 1", "byte offset 3073", "label 10", "0..9"});
}

TEST(Cifar10Test, TarballErrorsNameTheMember) {
  TempDir dir;
  auto members = official_members();
  members.erase(members.begin() + 2);  // data_batch_3.bin
  write_tarball(dir / "missing.tar.gz", members);
  expect_mentions(error_of([&] { cifar10::load_from(dir / "missing.tar.gz"); }),
                  {"missing.tar.gz", "cifar-10-batches-bin/data_batch_3.bin"});

  members = official_members();
  members[1].second.resize(kRecord * 2 + 5);  // test_batch.bin
  write_tarball(dir / "short.tar.gz", members);
  expect_mentions(
      error_of([&] { cifar10::load_from(dir / "short.tar.gz"); }),
      {"short.tar.gz:cifar-10-batches-bin/test_batch.bin", "truncated", "expected 9219 bytes", "file has 6151"});

  members = official_members();
  members[3].second[0] = 200;  // data_batch_1.bin, record 0
  write_tarball(dir / "label.tar.gz", members);
  expect_mentions(error_of([&] { cifar10::load_from(dir / "label.tar.gz"); }),
                  {"label.tar.gz:cifar-10-batches-bin/data_batch_1.bin", "record 0", "label 200"});
}

TEST(Cifar10Test, CutTarballIsAnError) {
  TempDir dir;
  write_tarball(dir / "full.tar.gz", official_members());
  Bytes bytes = read_file(dir / "full.tar.gz");
  bytes.resize(bytes.size() / 2);
  write_file(dir / "cifar-10-binary.tar.gz", bytes);
  expect_mentions(error_of([&] { cifar10::load_from(dir / "cifar-10-binary.tar.gz"); }),
                  {"cifar-10-binary.tar.gz", "incomplete or corrupt download"});
  write_file(dir / "not-an-archive.tar.gz", {'h', 'e', 'l', 'l', 'o'});
  expect_mentions(error_of([&] { cifar10::load_from(dir / "not-an-archive.tar.gz"); }), {"not-an-archive.tar.gz"});
}

TEST(Cifar10Test, MissingPathIsNamed) {
  TempDir dir;
  expect_mentions(error_of([&] { cifar10::load_from(dir / "nowhere"); }),
                  {"nowhere", "no such file or folder", "cifar-10-batches-bin", "cifar-10-binary.tar.gz"});
}

TEST(Cifar10Test, LocateSearchesDataDirThenKilnDataThenCache) {
  IsolatedEnv env;
  TempDir dir;
  datasets::LoadOptions options{.data_dir = dir.path(), .download = false};
  EXPECT_FALSE(cifar10::locate(options));

  write_tarball(env.home() / ".cache" / "kiln" / "cifar-10-binary.tar.gz", official_members());
  EXPECT_EQ(cifar10::locate(options), env.home() / ".cache" / "kiln" / "cifar-10-binary.tar.gz");

  write_batches(env.kiln_data() / "cifar-10-batches-bin");
  EXPECT_EQ(cifar10::locate(options), env.kiln_data() / "cifar-10-batches-bin");

  write_tarball(dir / "cifar-10-binary.tar.gz", official_members());
  EXPECT_EQ(cifar10::locate(options), dir / "cifar-10-binary.tar.gz");
  // The extracted folder is preferred to the tarball beside it: it loads faster.
  write_batches(dir / "cifar-10-batches-bin");
  EXPECT_EQ(cifar10::locate(options), dir / "cifar-10-batches-bin");
  // data_dir may be the batches folder itself.
  options.data_dir = dir / "cifar-10-batches-bin";
  EXPECT_EQ(cifar10::locate(options), dir / "cifar-10-batches-bin");
}

TEST(Cifar10Test, LoadDataUsesWhatLocateFinds) {
  IsolatedEnv env;
  TempDir dir;
  write_tarball(dir / "cifar-10-binary.tar.gz", official_members());
  expect_official_layout(cifar10::load_data({.data_dir = dir.path(), .download = false}));
}

TEST(Cifar10Test, NotFoundWithoutDownloadSaysWhereToPutIt) {
  IsolatedEnv env;
  TempDir dir;
  const std::string message = error_of([&] { cifar10::load_data({.data_dir = dir.path(), .download = false}); });
  expect_mentions(message, {"CIFAR-10", "not found", "downloading is off", dir.path().string(),
                            env.kiln_data().string(), (env.home() / ".cache" / "kiln").string(),
                            "cifar-10-binary.tar.gz", cifar10::kUrl, "--data DIR", "$KILN_DATA"});
}

TEST(Cifar10Test, SearchDirsFollowOptionsThenEnvironment) {
  IsolatedEnv env;
  EXPECT_EQ(datasets::search_dirs({}),
            (std::vector<std::filesystem::path>{env.kiln_data(), env.home() / ".cache" / "kiln"}));
  EXPECT_EQ(datasets::search_dirs({.data_dir = "/some/where"}),
            (std::vector<std::filesystem::path>{"/some/where", env.kiln_data(), env.home() / ".cache" / "kiln"}));
  EnvVar no_data("KILN_DATA", "");  // empty counts as unset
  EnvVar no_home("HOME", std::nullopt);
  EXPECT_TRUE(datasets::search_dirs({}).empty());
}

}  // namespace
}  // namespace kiln::test
