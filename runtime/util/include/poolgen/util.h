// Small jobs several tools share, written once: files replaced atomically, text made safe
// for messages and JSON, timing medians, the host CPU's features and this program's path.
// Includes nothing else of poolgen's.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace poolgen::util {

// ---- files replaced atomically -------------------------------------------------------------

// A file written under a temporary name beside `path` (created with O_EXCL and a process-unique
// name, so no one else's file is overwritten on the way) and renamed over `path` by commit():
// a reader never sees a half-written file, and a failed write leaves the old file whole. The
// temporary is removed on destruction unless committed. For content streamed in pieces (large
// arrays) or for several files replaced together (write all, then commit each).
class AtomicFile {
public:
    enum class Step { None, Create, Write, Close, Rename };
    explicit AtomicFile(std::string path) : path_(std::move(path)) {}
    AtomicFile(const AtomicFile &) = delete;
    AtomicFile &operator=(const AtomicFile &) = delete;
    ~AtomicFile() { discard(); }

    // Appends `n` bytes, creating the temporary on the first call. False on failure.
    bool write(const void *data, size_t n);
    bool write(const std::string &bytes) { return write(bytes.data(), bytes.size()); }
    // Closes the temporary (created empty if nothing was written) and renames it over the path.
    bool commit();
    // Removes the temporary (if any) unless committed.
    void discard();

    const std::string &path() const { return path_; }
    const std::string &temp_path() const { return tmp_; }  // empty until created
    Step failed_step() const { return step_; }             // None while all went well
    int error_number() const { return errno_; }
    std::string error_text() const;                        // strerror of the failure's errno

private:
    bool failed(Step s);
    bool create();
    std::string path_, tmp_;
    int fd_ = -1;
    bool committed_ = false, tmp_name_only_ = false;  // tmp_ names a file never created
    Step step_ = Step::None;
    int errno_ = 0;
};

// Writes `bytes` to `path` through an AtomicFile. With `keep_if_unchanged`, a file that already
// holds exactly `bytes` is not touched (its time stamp stays, so build tools see no change).
// False with `error` set ("cannot write 'PATH': why") on failure.
bool write_file_atomic(const std::string &path, const std::string &bytes, std::string *error = nullptr,
                       bool keep_if_unchanged = false);

// ---- text -----------------------------------------------------------------------------------

// The contents of a JSON string literal (without the quotes): '"' and '\' escaped, control
// characters as \n, \r, \t or \u00XX; other bytes (UTF-8 included) as they are.
std::string json_escape(const std::string &text);

// Text from a file or the user, made safe for a one-line message: printable ASCII kept, every
// other byte shown as \xNN; cut with "..." once the result reaches `max_len` characters.
std::string printable(const std::string &text, size_t max_len = 64);

// ---- timing ---------------------------------------------------------------------------------

// The median of `samples` (the mean of the middle two for an even count); NaN when empty.
double median(std::vector<double> samples);

// Milliseconds per call of `f`: one warm-up call, then calls timed one by one for at least
// `min_seconds` and 5 calls (at most 10000); the median.
template <typename F>
double median_ms(F f, double min_seconds) {
    using clock = std::chrono::steady_clock;
    f();  // warm-up
    std::vector<double> samples;
    const auto start = clock::now();
    do {
        const auto t0 = clock::now();
        f();
        samples.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
    } while (samples.size() < 5 ||
             (std::chrono::duration<double>(clock::now() - start).count() < min_seconds && samples.size() < 10000));
    return median(std::move(samples));
}

// ---- the host -------------------------------------------------------------------------------

// Whether this CPU has every feature a Halide x86 target string names among its features
// (avx512 in any form: f, cd, bw, dq and vl, as avx512_skylake needs; avx2: avx2, fma and avx;
// sse41: sse4.1). A target naming none of them (the plain baseline) runs everywhere.
bool cpu_runs_target(const std::string &halide_target);

// This program's own path (/proc/self/exe); empty when it cannot be found.
std::string self_exe_path();

}  // namespace poolgen::util
