// Writing files so that a reader never sees half of one: the bytes go to a
// temporary file beside the destination, are flushed to disk, and the
// temporary is renamed over the destination (an atomic step on POSIX).
#pragma once
#include <filesystem>
#include <string_view>

namespace kiln::io {

// Creates the parent folder when missing. Throws kiln::Error naming the path on failure.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents);

}  // namespace kiln::io
