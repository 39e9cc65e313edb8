#include "kiln/callbacks/csv_logger.hpp"

#include <charconv>
#include <system_error>

#include "kiln/distribution.hpp"
#include "kiln/error.hpp"
#include "kiln/io/files.hpp"
#include "kiln/training_state.hpp"

namespace kiln::callbacks {
namespace {

// The shortest text that reads back as the same double (Python's repr, as Keras writes).
std::string shortest(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace

CSVLogger::CSVLogger(std::filesystem::path filename, char separator, bool append)
    : filename_(std::move(filename)), separator_(separator), append_(append) {
  if (filename_.empty()) throw Error("CSVLogger: filename is empty");
}

void CSVLogger::on_train_begin(Model&) {
  keys_.clear();
  text_.clear();
  std::error_code ec;
  if (append_ && std::filesystem::exists(filename_, ec)) text_ = io::read_file(filename_);
}

void CSVLogger::on_epoch_end(Model&, int epoch, const Logs& logs) {
  if (keys_.empty()) {
    for (const auto& [k, v] : logs) keys_.push_back(k);  // name order, as Keras sorts them
    if (text_.empty()) {
      text_ += "epoch";
      for (const auto& k : keys_) text_ += separator_ + k;
      text_ += "\n";
    }
  }
  text_ += std::to_string(epoch);
  for (const auto& k : keys_) {
    const auto it = logs.find(k);
    text_ += separator_;
    if (it != logs.end()) text_ += shortest(it->second);
  }
  text_ += "\n";
  if (distribution::is_chief()) io::write_file_atomically(filename_, text_);  // data-parallel: rank 0 writes
}

bool CSVLogger::get_state(CallbackState& out) const {
  out.values = {{"kind", "CSVLogger"}, {"keys", keys_}, {"text", text_}};
  return true;
}

void CSVLogger::set_state(const CallbackState& state) {
  const auto& v = state.values;
  if (v.value("kind", "") != "CSVLogger") throw Error("CSVLogger: the saved state is another callback's");
  keys_ = v.at("keys").get<std::vector<std::string>>();
  text_ = v.at("text").get<std::string>();
  // Rows written after the checkpoint (by the run that stopped) are dropped.
  if (distribution::is_chief()) io::write_file_atomically(filename_, text_);  // data-parallel: rank 0 writes
}

}  // namespace kiln::callbacks
