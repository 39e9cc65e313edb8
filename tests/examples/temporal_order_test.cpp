// examples/temporal_order: an LSTM learns which of two markers came first,
// which a bag-of-words model (token counts) cannot tell.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/process.hpp"

namespace kiln {
namespace {

TEST(TemporalOrderExample, LstmRemembersTheOrderWhereBagOfWordsCannot) {
#ifdef KILN_NO_EXAMPLES
  GTEST_SKIP() << "the examples are not built (KILN_BUILD_EXAMPLES=OFF)";
#endif
  const std::string exe = std::string(KILN_EXAMPLES_DIR) + "/temporal_order";
  ASSERT_TRUE(std::filesystem::exists(exe)) << exe << " is not built";
  const auto r = testing::run_command(exe + " --length 40 --train 3000 --test 600 --epochs 6 --threads 1 --seed 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto pos = r.output.find("LSTM test accuracy: ");
  ASSERT_NE(pos, std::string::npos) << r.output;
  const double lstm = std::stod(r.output.substr(pos + 20));
  const auto bag_pos = r.output.find("Bag-of-words test accuracy: ");
  ASSERT_NE(bag_pos, std::string::npos) << r.output;
  const double bag = std::stod(r.output.substr(bag_pos + 28));
  EXPECT_GT(lstm, 0.9) << r.output;
  EXPECT_LT(bag, 0.6) << "an order-blind model should stay near chance (0.5)\n" << r.output;
}

}  // namespace
}  // namespace kiln
