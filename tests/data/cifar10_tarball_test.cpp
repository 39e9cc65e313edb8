// A tarball whose header lies about a member's size: an Error, without reserving
// the gigabytes the header claims.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "kiln/datasets.hpp"
#include "kiln/error.hpp"
#include "support/process.hpp"

namespace kiln {
namespace {

// One ustar header block for `name` claiming `size` bytes (octal), with a valid checksum.
std::string ustar_header(const std::string& name, unsigned long long size) {
  std::string h(512, '\0');
  std::memcpy(h.data(), name.data(), name.size());
  std::snprintf(h.data() + 100, 8, "%07o", 0644);
  std::snprintf(h.data() + 108, 8, "%07o", 0);
  std::snprintf(h.data() + 116, 8, "%07o", 0);
  std::snprintf(h.data() + 124, 12, "%011llo", size);
  std::snprintf(h.data() + 136, 12, "%011o", 0);
  h[156] = '0';
  std::memcpy(h.data() + 257, "ustar", 6);
  std::memcpy(h.data() + 263, "00", 2);
  std::memset(h.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h.data() + 148, 8, "%06o", sum);
  return h;
}

// This process's peak resident memory in MB.
double peak_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

TEST(Cifar10Tarball, AMemberClaimingGigabytesIsATruncationError) {
  const double peak_before = peak_mb();
  testing::TempDir dir;
  const auto path = dir.path() / "cifar-10-binary.tar";
  {
    std::ofstream out(path, std::ios::binary);
    out << ustar_header("cifar-10-batches-bin/data_batch_1.bin", 3073ull * 1'000'000);  // 3 GB claimed
    out << std::string(3073, '\1') << std::string(1024, '\0');
  }
  try {
    datasets::cifar10::load_from(path);
    FAIL() << "loaded a lying tarball";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("data_batch_1.bin"), std::string::npos) << msg;
    EXPECT_TRUE(msg.find("truncated") != std::string::npos || msg.find("corrupt") != std::string::npos) << msg;
  }
  EXPECT_LT(peak_mb() - peak_before, 256.0) << "memory was reserved for the size the header claims";
}

}  // namespace
}  // namespace kiln
