// Small jobs several tools share, written once: files replaced atomically, text made safe
// for messages, JSON and generated code. Includes nothing else of poolgen's.
#pragma once
#include <string>

namespace poolgen::util {

// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so a
// reader never sees a half-written file and a failed write leaves the old file whole. With
// `keep_if_unchanged`, a file that already holds exactly `bytes` is not touched (its time stamp
// stays, so build tools see no change). False with `error` set (naming the path) on failure.
bool write_file_atomic(const std::string &path, const std::string &bytes, std::string *error = nullptr,
                       bool keep_if_unchanged = false);

}  // namespace poolgen::util
