// CSV files: the reader (quotes, blank lines, exact row lengths) and csv_dataset, which
// turns the cells into float32 features and targets.
#include "kiln/data/csv.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include "kiln/error.hpp"
#include "kiln/io/files.hpp"

namespace kiln::data {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::string shown(const std::string& s) { return "'" + (s.size() > 40 ? s.substr(0, 40) + "..." : s) + "'"; }

}  // namespace

bool is_missing_value(const std::string& cell) {
  static const std::set<std::string> missing = {"", "NA", "N/A", "NaN", "nan", "null", "?"};
  return missing.count(trim(cell)) > 0;
}

std::optional<double> parse_number(const std::string& cell) {
  const std::string t = trim(cell);
  if (t.empty()) return std::nullopt;
  const char* begin = t.data() + (t[0] == '+' ? 1 : 0);
  double v = 0;
  const auto [end, ec] = std::from_chars(begin, t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

CsvTable read_csv(const std::filesystem::path& file, char delimiter) {
  const std::string text = io::read_file(file, std::uint64_t(1) << 32);
  const std::string name = file.string();
  CsvTable table;
  std::vector<std::string> row;
  std::string cell;
  std::int64_t line = 1, row_line = 1;
  bool in_quotes = false, cell_quoted = false, row_blank = true;
  auto end_row = [&] {
    row.push_back(cell);
    cell.clear();
    const bool blank = row_blank && row.size() == 1 && !cell_quoted;
    cell_quoted = false;
    if (!blank) {
      if (table.header.empty()) {
        table.header = row;
        std::set<std::string> seen;
        for (auto& h : table.header) {
          h = trim(h);
          if (!seen.insert(h).second) throw Error(name + ": the header names column " + shown(h) + " twice");
        }
      } else if (row.size() != table.header.size()) {
        throw Error(name + ": line " + std::to_string(row_line) + " has " + std::to_string(row.size()) +
                    " fields; expected " + std::to_string(table.header.size()) + " (one per header column)");
      } else {
        table.rows.push_back(std::move(row));
        table.lines.push_back(row_line);
      }
    }
    row.clear();
    row_blank = true;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cell += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        cell += c;
      }
      continue;
    }
    if (c == '"' && trim(cell).empty()) {
      in_quotes = cell_quoted = true;
      row_blank = false;
      cell.clear();
    } else if (c == delimiter) {
      row.push_back(cell);
      cell.clear();
      row_blank = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_row();
      row_line = ++line;
    } else {
      cell += c;
      if (c != ' ' && c != '\t') row_blank = false;
    }
  }
  if (in_quotes) throw Error(name + ": a quoted field starting on line " + std::to_string(row_line) + " never ends");
  if (!row.empty() || !cell.empty() || cell_quoted) end_row();
  if (table.header.empty()) throw Error(name + ": empty file; expected a header row naming the columns");
  return table;
}

CsvDataset csv_dataset(const std::filesystem::path& file, const CsvOptions& o) {
  const std::string name = file.string();
  const std::string where = "csv_dataset: ";
  if (o.categorical_encoding != "one_hot" && o.categorical_encoding != "int") {
    throw Error(where + "categorical_encoding must be \"one_hot\" or \"int\", got \"" + o.categorical_encoding + "\"");
  }
  if (o.label_mode != "int" && o.label_mode != "categorical") {
    throw Error(where + "label_mode must be \"int\" or \"categorical\", got \"" + o.label_mode + "\"");
  }
  if (o.batch_size < 0) throw Error(where + "batch_size must be >= 0, got " + std::to_string(o.batch_size));
  const CsvTable t = read_csv(file, o.delimiter);
  auto column = [&](const std::string& c, const char* role) -> std::size_t {
    const auto it = std::find(t.header.begin(), t.header.end(), c);
    if (it == t.header.end()) {
      std::string list;
      for (const auto& h : t.header) list += (list.empty() ? "" : ", ") + h;
      throw Error(name + ": no column " + shown(c) + " (" + role + "); its columns: " + list);
    }
    return static_cast<std::size_t>(it - t.header.begin());
  };
  std::set<std::size_t> categorical;
  for (const auto& c : o.categorical_columns) categorical.insert(column(c, "categorical_columns"));
  const std::optional<std::size_t> label =
      o.label.empty() ? std::nullopt : std::optional<std::size_t>(column(o.label, "label"));
  std::vector<std::size_t> features;
  if (o.select_columns.empty()) {
    for (std::size_t c = 0; c < t.header.size(); ++c) {
      if (c != label) features.push_back(c);
    }
  } else {
    for (const auto& c : o.select_columns) {
      const std::size_t i = column(c, "select_columns");
      if (i == label) throw Error(where + "the label column " + shown(c) + " is also in select_columns");
      features.push_back(i);
    }
  }
  if (t.rows.empty()) throw Error(name + ": no rows after the header");
  // Every missing value first, so that one message shows how many there are and where.
  std::vector<std::size_t> used = features;
  if (label) used.push_back(*label);
  std::vector<std::string> missing;
  std::size_t missing_count = 0;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    for (std::size_t c : used) {
      if (is_missing_value(t.rows[r][c])) {
        if (++missing_count <= 5) {
          missing.push_back("line " + std::to_string(t.lines[r]) + " column " + shown(t.header[c]) +
                            (trim(t.rows[r][c]).empty() ? "" : " (" + shown(trim(t.rows[r][c])) + ")"));
        }
      }
    }
  }
  if (missing_count) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : "; ") + m;
    throw Error(name + ": " + std::to_string(missing_count) + " missing value" + (missing_count > 1 ? "s" : "") + ": " +
                list + (missing_count > 5 ? "; ..." : "") + ". Fill or remove them first");
  }
  // Categories of each categorical column, sorted.
  std::map<std::size_t, std::vector<std::string>> vocab;
  for (std::size_t c : categorical) {
    std::set<std::string> values;
    for (const auto& row : t.rows) values.insert(trim(row[c]));
    vocab[c].assign(values.begin(), values.end());
  }
  auto id_of = [&](std::size_t c, const std::string& v) {
    const auto& words = vocab[c];
    return static_cast<std::int64_t>(std::lower_bound(words.begin(), words.end(), trim(v)) - words.begin());
  };
  auto number = [&](std::size_t r, std::size_t c) {
    const auto v = parse_number(t.rows[r][c]);
    if (!v) {
      throw Error(name + ": line " + std::to_string(t.lines[r]) + ", column " + shown(t.header[c]) + ": " +
                  shown(trim(t.rows[r][c])) +
                  " is not a number (list the column in categorical_columns if it holds categories)");
    }
    return *v;
  };
  CsvDataset out;
  for (std::size_t c : features) {
    if (categorical.count(c) && o.categorical_encoding == "one_hot") {
      for (const auto& v : vocab[c]) out.feature_names.push_back(t.header[c] + "=" + v);
    } else {
      out.feature_names.push_back(t.header[c]);
    }
  }
  const auto n = static_cast<std::int64_t>(t.rows.size());
  const auto width = static_cast<std::int64_t>(out.feature_names.size());
  Tensor x = Tensor::zeros({n, width});
  float* px = x.data<float>();
  for (std::int64_t r = 0; r < n; ++r) {
    std::int64_t k = 0;
    for (std::size_t c : features) {
      if (!categorical.count(c)) {
        px[r * width + k++] = static_cast<float>(number(std::size_t(r), c));
      } else if (o.categorical_encoding == "int") {
        px[r * width + k++] = static_cast<float>(id_of(c, t.rows[r][c]));
      } else {
        px[r * width + k + id_of(c, t.rows[r][c])] = 1.0f;
        k += static_cast<std::int64_t>(vocab[c].size());
      }
    }
  }
  Tensor y;
  if (label && categorical.count(*label)) {
    out.class_names = vocab[*label];
    const auto classes = static_cast<std::int64_t>(out.class_names.size());
    y = o.label_mode == "int" ? Tensor::zeros({n}, DType::Int32) : Tensor::zeros({n, classes});
    for (std::int64_t r = 0; r < n; ++r) {
      const std::int64_t id = id_of(*label, t.rows[r][*label]);
      if (o.label_mode == "int") {
        y.data<std::int32_t>()[r] = static_cast<std::int32_t>(id);
      } else {
        y.data<float>()[r * classes + id] = 1.0f;
      }
    }
  } else if (label) {
    y = Tensor::zeros({n, 1});
    for (std::int64_t r = 0; r < n; ++r) y.data<float>()[r] = static_cast<float>(number(std::size_t(r), *label));
  }
  for (const auto& [c, words] : vocab) out.categories.emplace_back(t.header[c], words);
  out.data = Dataset(x, y);
  Pipeline p(out.data);
  if (o.shuffle) p = p.shuffle(n, o.seed ? *o.seed : default_generator().next_u64());
  if (o.batch_size) p = p.batch(o.batch_size);
  static_cast<Pipeline&>(out) = p;
  return out;
}

}  // namespace kiln::data
