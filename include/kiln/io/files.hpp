// Whole-file reads and crash-safe writes.
#pragma once
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>

namespace kiln::io {

// Replaces `path` with `bytes` so that anyone reading it — including a later
// run after this process is killed at any moment (SIGKILL, power loss) — finds
// either the previous file or the complete new one, never a mix: the bytes go to
// a temporary file in the same folder, which is flushed to disk (fsync) and then
// renamed over `path`; the folder is flushed too, so the rename itself survives.
// Throws an Error naming the file on any failure (the temporary file is removed).
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

// The whole file; an Error naming it when it is missing, unreadable, a folder,
// or larger than `max_bytes`.
std::string read_file(const std::filesystem::path& path,
                      std::uint64_t max_bytes = std::numeric_limits<std::uint64_t>::max());

}  // namespace kiln::io
