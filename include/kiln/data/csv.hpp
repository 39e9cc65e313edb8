// CSV files: a header row, then one example per row.
//
//   auto ds = kiln::data::csv_dataset("patients.csv",
//       {.label = "outcome", .categorical_columns = {"sex", "outcome"}, .batch_size = 32, .seed = 1});
//   // ds.feature_names: "age", "sex=F", "sex=M", ...; ds.class_names: the outcomes, sorted
//
// Numeric columns become float32 features; categorical ones their category's id or a one-hot
// group (categories sorted alphanumerically). The label column gives the targets: int32 class
// ids (or one-hot float32) when categorical, float32 [n, 1] values (regression) otherwise.
// Fields may be quoted ("a, b", with "" for a quote); blank lines are skipped. A missing value
// (an empty field, NA, N/A, NaN, nan, null or ?), a non-number in a numeric column or a row
// of the wrong length is an Error naming the file, the line and the column.
//
// The file is read whole, in one pass (categories need every row), into memory: a table of
// float32 features, which the returned Pipeline then shuffles and batches.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kiln/data/pipeline.hpp"

namespace kiln::data {

// The cells of a CSV file, as text: what csv_dataset parses, for callers that look first.
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::int64_t> lines;  // each row's line number in the file (1-based), for messages
};
// Throws an Error naming the file and line: unreadable, no header, an unterminated quote, a
// row with too few or too many fields, a column name given twice.
CsvTable read_csv(const std::filesystem::path& file, char delimiter = ',');
// The values csv_dataset treats as missing.
bool is_missing_value(const std::string& cell);
// A number as csv_dataset reads it (surrounding spaces allowed), or nullopt.
std::optional<double> parse_number(const std::string& cell);

struct CsvOptions {
  std::string label;                             // the target column ("": no targets)
  std::vector<std::string> categorical_columns;  // features or the label; every other column is numeric
  std::vector<std::string> select_columns;       // the feature columns to use (default: all but the label)
  std::string categorical_encoding = "one_hot";  // features: "one_hot" or "int" (the category's id)
  std::string label_mode = "int";                // a categorical label: "int" ids or "categorical" one-hot
  char delimiter = ',';
  std::int64_t batch_size = 32;  // 0: unbatched
  bool shuffle = true;
  std::optional<std::uint64_t> seed;
};

class CsvDataset : public Pipeline {
 public:
  CsvDataset() = default;
  CsvDataset(Pipeline pipeline, Dataset data) : Pipeline(std::move(pipeline)), data(std::move(data)) {}
  Dataset data;                            // every row, in file order: x float32 [rows, features]
  std::vector<std::string> feature_names;  // one per feature ("sex=F" for a one-hot group's member)
  std::vector<std::string> class_names;    // a categorical label's categories (their ids' order)
  // Each categorical column's categories, sorted: what its ids (or one-hot positions) mean.
  std::vector<std::pair<std::string, std::vector<std::string>>> categories;
};

CsvDataset csv_dataset(const std::filesystem::path& file, const CsvOptions& options = {});

}  // namespace kiln::data
