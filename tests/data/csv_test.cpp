// csv_dataset and read_csv on files the tests write: numeric and categorical columns, both
// encodings, labels for classification and regression, and each kind of bad row.
#include "kiln/data/csv.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "data/data_test_util.hpp"

namespace kiln::test {
namespace {

using data::csv_dataset;

std::filesystem::path write_text(const TempDir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir / name, std::ios::binary) << text;
  return dir / name;
}

const char* kPatients =
    "age,sex,weight,outcome\n"
    "30,M,70.5,well\n"
    "45,F,60,ill\n"
    "\n"
    "52,F,\"80\",well\n"
    "61,\"M\",90.25,ill\r\n";

TEST(Csv, NumericAndOneHotFeaturesWithAClassLabel) {
  TempDir dir;
  const auto file = write_text(dir, "p.csv", kPatients);
  const auto ds = csv_dataset(file, {.label = "outcome", .categorical_columns = {"sex", "outcome"}, .shuffle = false});
  EXPECT_EQ(ds.feature_names, (std::vector<std::string>{"age", "sex=F", "sex=M", "weight"}));
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"ill", "well"}));
  ASSERT_EQ(ds.data.size(), 4);
  EXPECT_EQ(ds.data.x().to_vector<float>(), (std::vector<float>{30, 0, 1, 70.5f,  //
                                                                45, 1, 0, 60,     //
                                                                52, 1, 0, 80,     //
                                                                61, 0, 1, 90.25f}));
  EXPECT_EQ(ds.data.y().dtype(), DType::Int32);
  EXPECT_EQ(ds.data.y().to_vector<std::int32_t>(), (std::vector<std::int32_t>{1, 0, 1, 0}));
  ASSERT_EQ(ds.categories.size(), 2u);
  EXPECT_EQ(ds.categories[0].first, "sex");
  const auto batches = ds.collect();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].x.shape(), Shape({4, 4}));
}

TEST(Csv, IdEncodingOneHotLabelsAndRegression) {
  TempDir dir;
  const auto file = write_text(dir, "p.csv", kPatients);
  const auto ids = csv_dataset(file, {.label = "outcome",
                                      .categorical_columns = {"sex", "outcome"},
                                      .select_columns = {"sex", "age"},
                                      .categorical_encoding = "int",
                                      .label_mode = "categorical",
                                      .shuffle = false});
  EXPECT_EQ(ids.feature_names, (std::vector<std::string>{"sex", "age"}));
  EXPECT_EQ(ids.data.x().to_vector<float>(), (std::vector<float>{1, 30, 0, 45, 0, 52, 1, 61}));
  EXPECT_EQ(ids.data.y().shape(), Shape({4, 2}));
  EXPECT_EQ(ids.data.y().to_vector<float>(), (std::vector<float>{0, 1, 1, 0, 0, 1, 1, 0}));
  const auto regression =
      csv_dataset(file, {.label = "weight", .categorical_columns = {"sex", "outcome"}, .shuffle = false});
  EXPECT_EQ(regression.data.y().shape(), Shape({4, 1}));
  EXPECT_EQ(regression.data.y().to_vector<float>(), (std::vector<float>{70.5f, 60, 80, 90.25f}));
  EXPECT_TRUE(regression.class_names.empty());
  // Shuffled batches hold every row once.
  const auto shuffled =
      csv_dataset(file, {.label = "weight", .categorical_columns = {"sex", "outcome"}, .batch_size = 3, .seed = 4});
  double total = 0;
  for (const auto& b : shuffled.collect()) {
    for (float v : b.y.to_vector<float>()) total += v;
  }
  EXPECT_DOUBLE_EQ(total, 70.5 + 60 + 80 + 90.25);
}

TEST(Csv, QuotedFieldsAndDelimiters) {
  TempDir dir;
  const auto file = write_text(dir, "q.csv", "name;note\n\"a;b\";\"say \"\"hi\"\"\nthere\"\nplain; x \n");
  const auto t = data::read_csv(file, ';');
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0][0], "a;b");
  EXPECT_EQ(t.rows[0][1], "say \"hi\"\nthere");
  EXPECT_EQ(t.lines, (std::vector<std::int64_t>{2, 4}));
  EXPECT_EQ(t.rows[1][1], " x ");
}

TEST(Csv, BadRowsAreNamedByFileLineAndColumn) {
  TempDir dir;
  auto error = [&](const std::string& text, data::CsvOptions o = {.label = "y"}) {
    const auto file = write_text(dir, "bad.csv", text);
    return error_of([&] { csv_dataset(file, o); });
  };
  std::string m = error("a,b,y\n1,2,3\n4,5\n");
  EXPECT_NE(m.find("bad.csv"), std::string::npos) << m;
  EXPECT_NE(m.find("line 3 has 2 fields; expected 3"), std::string::npos) << m;
  m = error("a,b,y\n1,2,3\n4,five,6\n");
  EXPECT_NE(m.find("line 3, column 'b': 'five' is not a number"), std::string::npos) << m;
  m = error("a,b,y\n1,,3\n4,5,NA\n7,8,9\n");
  EXPECT_NE(m.find("2 missing values"), std::string::npos) << m;
  EXPECT_NE(m.find("line 2 column 'b'"), std::string::npos) << m;
  EXPECT_NE(m.find("line 3 column 'y' ('NA')"), std::string::npos) << m;
  m = error("a,b,y\n1,2,3\n", {.label = "z"});
  EXPECT_NE(m.find("no column 'z'"), std::string::npos) << m;
  EXPECT_NE(error("a,a\n1,2\n").find("twice"), std::string::npos);
  EXPECT_NE(error("").find("empty file"), std::string::npos);
  EXPECT_NE(error("a,y\n").find("no rows"), std::string::npos);
  EXPECT_NE(error("a,y\n\"1,2\n").find("never ends"), std::string::npos);
}

}  // namespace
}  // namespace kiln::test
