// Learning-rate schedules: values at chosen steps against Keras 3's formulas worked by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <numbers>

#include "kiln/kiln.hpp"
#include "support/errors.hpp"

namespace kiln {
namespace {

using namespace kiln::optim::schedules;
using testing::error_of;
constexpr double kPi = std::numbers::pi;

TEST(Schedules, ExponentialDecaySmoothAndStaircase) {
  const ExponentialDecay smooth(0.1, 10, 0.5);
  EXPECT_DOUBLE_EQ(smooth(0), 0.1);
  EXPECT_DOUBLE_EQ(smooth(5), 0.1 * std::sqrt(0.5));
  EXPECT_DOUBLE_EQ(smooth(20), 0.025);
  const ExponentialDecay stairs(0.1, 10, 0.5, true);
  EXPECT_DOUBLE_EQ(stairs(9), 0.1);
  EXPECT_DOUBLE_EQ(stairs(10), 0.05);
  EXPECT_DOUBLE_EQ(stairs(25), 0.025);
}

TEST(Schedules, PiecewiseConstantDecayBoundariesBelongToTheEarlierPiece) {
  const PiecewiseConstantDecay s({100, 110}, {1.0, 0.5, 0.1});
  EXPECT_EQ(s(0), 1.0);
  EXPECT_EQ(s(100), 1.0);
  EXPECT_EQ(s(101), 0.5);
  EXPECT_EQ(s(110), 0.5);
  EXPECT_EQ(s(111), 0.1);
  EXPECT_NE(error_of([] { PiecewiseConstantDecay({1, 2}, {1.0, 0.5}); }).find("1 less than"), std::string::npos);
}

TEST(Schedules, PolynomialDecayHoldsOrCycles) {
  const PolynomialDecay linear(1.0, 10, 0.1);
  EXPECT_DOUBLE_EQ(linear(0), 1.0);
  EXPECT_DOUBLE_EQ(linear(5), 0.9 * 0.5 + 0.1);
  EXPECT_DOUBLE_EQ(linear(50), 0.1);
  const PolynomialDecay squared(1.0, 10, 0.0, 2.0);
  EXPECT_DOUBLE_EQ(squared(3), 0.49);
  const PolynomialDecay cycling(1.0, 10, 0.0, 1.0, true);
  EXPECT_DOUBLE_EQ(cycling(0), 1.0);
  EXPECT_DOUBLE_EQ(cycling(10), 0.0);
  EXPECT_DOUBLE_EQ(cycling(15), 1.0 - 15.0 / 20.0);  // decay_steps grows to 20
}

TEST(Schedules, InverseTimeDecay) {
  EXPECT_DOUBLE_EQ(InverseTimeDecay(0.1, 10, 0.5)(5), 0.1 / 1.25);
  EXPECT_DOUBLE_EQ(InverseTimeDecay(0.1, 10, 0.5, true)(15), 0.1 / 1.5);
}

TEST(Schedules, CosineDecayWithAndWithoutWarmup) {
  const CosineDecay plain(1.0, 100, 0.1);
  EXPECT_DOUBLE_EQ(plain(0), 1.0);
  EXPECT_NEAR(plain(25), 0.9 * 0.5 * (1 + std::cos(kPi / 4)) + 0.1, 1e-15);
  EXPECT_NEAR(plain(100), 0.1, 1e-15);
  EXPECT_NEAR(plain(500), 0.1, 1e-15);
  const CosineDecay warm(0.0, 100, 0.0, 1.0, 10);
  EXPECT_DOUBLE_EQ(warm(0), 0.0);
  EXPECT_DOUBLE_EQ(warm(4), 0.4);
  EXPECT_DOUBLE_EQ(warm(10), 1.0);  // the cosine starts at the target
  EXPECT_NEAR(warm(60), 0.5 * (1 + std::cos(kPi * 0.5)), 1e-15);
  EXPECT_NEAR(warm(1000), 0.0, 1e-15);
}

TEST(Schedules, CosineDecayRestartsGrowsAndShrinksItsPeriods) {
  const CosineDecayRestarts s(1.0, 10, 2.0, 0.5);
  EXPECT_DOUBLE_EQ(s(0), 1.0);
  EXPECT_NEAR(s(5), 0.5, 1e-15);
  // Second period: steps 10..30 (20 long), peak 0.5.
  EXPECT_NEAR(s(10), 0.5, 1e-15);
  EXPECT_NEAR(s(20), 0.5 * 0.5 * (1 + std::cos(kPi * 0.5)), 1e-15);
  // Third: 30..70, peak 0.25.
  EXPECT_NEAR(s(40), 0.25 * 0.5 * (1 + std::cos(kPi * 0.25)), 1e-15);
  const CosineDecayRestarts even(1.0, 10, 1.0, 1.0, 0.2);
  EXPECT_NEAR(even(13), 0.8 * 0.5 * (1 + std::cos(kPi * 0.3)) + 0.2, 1e-15);
}

TEST(Schedules, ConfigsRoundTripAndBadArgumentsAreErrors) {
  const std::vector<std::shared_ptr<const LearningRateSchedule>> all = {
      std::make_shared<ExponentialDecay>(0.1, 10, 0.5, true),
      std::make_shared<PiecewiseConstantDecay>(std::vector<double>{5, 9}, std::vector<double>{1, 0.5, 0.2}),
      std::make_shared<PolynomialDecay>(1.0, 10, 0.01, 2.0, true),
      std::make_shared<InverseTimeDecay>(0.1, 10, 0.5),
      std::make_shared<CosineDecay>(0.0, 100, 0.1, 1e-3, 10),
      std::make_shared<CosineDecayRestarts>(1.0, 10, 2.0, 0.9, 0.01)};
  for (const auto& s : all) {
    const auto rebuilt = from_config(s->name(), s->get_config());
    EXPECT_EQ(rebuilt->get_config(), s->get_config()) << s->name();
    for (std::int64_t step : {0, 3, 17, 250}) EXPECT_EQ((*rebuilt)(step), (*s)(step)) << s->name() << " at " << step;
  }
  EXPECT_TRUE(CosineDecay(1.0, 10).get_config().at("warmup_target").is_null());
  EXPECT_NE(error_of([] { ExponentialDecay(0.1, 0, 0.5); }).find("ExponentialDecay: decay_steps must be > 0, got 0"),
            std::string::npos);
  EXPECT_NE(error_of([] { CosineDecay(0.1, 10, 0, std::nullopt, -1); }).find("warmup_steps"), std::string::npos);
  EXPECT_NE(error_of([] {
              from_config("ExponentialDecay", {{"decay_steps", 1}});
            }).find("ExponentialDecay"),
            std::string::npos);
}

}  // namespace
}  // namespace kiln
