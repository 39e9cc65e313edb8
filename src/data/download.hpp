// Fetching dataset files over HTTP(S) (or file://) with libcurl, verified by MD5.
// Internal to the dataset loaders.
#pragma once
#include <filesystem>
#include <string>

namespace kiln::data_detail {

// Downloads `url` to `dest`, following redirects, and keeps it only when its MD5
// (lowercase or uppercase hex) equals `expected_md5`. The bytes go to a temporary
// file next to `dest` that is renamed into place once complete and verified, so an
// interrupted, failed or corrupt download never leaves a file at `dest`.
// Gives up when no connection is made within `connect_timeout_s` seconds, or when
// the transfer stalls (under 1 KB/s for a minute). With `show_progress`, reports
// progress on stderr (redrawn in place on a terminal).
// Throws kiln::Error with curl's reason, the HTTP status or the MD5 mismatch.
void download_file(const std::string& url, const std::filesystem::path& dest, const std::string& expected_md5,
                   long connect_timeout_s, bool show_progress = true);

// The MD5 of a file's bytes, as 32 lowercase hex digits.
std::string md5_file(const std::filesystem::path& path);

}  // namespace kiln::data_detail
