#include "poolgen/util.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace poolgen::util {

// ---- files replaced atomically -------------------------------------------------------------

bool AtomicFile::failed(Step s) {
    step_ = s;
    errno_ = errno;
    return false;
}

std::string AtomicFile::error_text() const { return std::strerror(errno_); }

bool AtomicFile::create() {
    // O_EXCL with a process-unique name: never clobber someone else's temporary. Mode 0666 lets
    // the umask decide, as for any newly created file.
    static std::atomic<unsigned> counter{0};
    for (int attempt = 0;; ++attempt) {
        std::string name = path_ + ".tmp." + std::to_string(static_cast<long>(::getpid())) + "." + std::to_string(counter++);
        const int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            tmp_ = std::move(name);
            fd_ = fd;
            return true;
        }
        if (errno != EEXIST || attempt >= 100) {
            tmp_ = std::move(name);  // named in messages; nothing to remove
            const bool r = failed(Step::Create);
            tmp_name_only_ = true;
            return r;
        }
    }
}

bool AtomicFile::write(const void *data, size_t n) {
    if (step_ != Step::None || committed_) return false;
    if (fd_ < 0 && !create()) return false;
    auto *p = static_cast<const unsigned char *>(data);
    while (n > 0) {
        const ssize_t r = ::write(fd_, p, n < (size_t(1) << 30) ? n : (size_t(1) << 30));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return failed(Step::Write);
        p += r;
        n -= static_cast<size_t>(r);
    }
    return true;
}

bool AtomicFile::commit() {
    if (step_ != Step::None || committed_) return committed_;
    if (fd_ < 0 && !create()) return false;
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return failed(Step::Close);
    if (std::rename(tmp_.c_str(), path_.c_str()) != 0) return failed(Step::Rename);
    committed_ = true;
    return true;
}

void AtomicFile::discard() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!tmp_.empty() && !committed_ && !tmp_name_only_) ::unlink(tmp_.c_str());
    tmp_name_only_ = true;
}

bool write_file_atomic(const std::string &path, const std::string &bytes, std::string *error, bool keep_if_unchanged) {
    if (keep_if_unchanged) {
        std::ifstream old(path, std::ios::binary);
        if (old) {
            std::ostringstream current;
            current << old.rdbuf();
            if (current.str() == bytes) return true;
        }
    }
    AtomicFile f(path);
    if (f.write(bytes) && f.commit()) return true;
    if (error) *error = "cannot write '" + path + "': " + f.error_text();
    return false;
}

// ---- text -----------------------------------------------------------------------------------

std::string json_escape(const std::string &text) {
    std::string o;
    o.reserve(text.size());
    for (char c : text) {
        const unsigned char u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            o += '\\';
            o += c;
        } else if (c == '\n') {
            o += "\\n";
        } else if (c == '\r') {
            o += "\\r";
        } else if (c == '\t') {
            o += "\\t";
        } else if (u < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", u);
            o += buf;
        } else {
            o += c;
        }
    }
    return o;
}

std::string printable(const std::string &text, size_t max_len) {
    std::string out;
    for (size_t i = 0; i < text.size(); i++) {
        if (out.size() >= max_len) {
            out += "...";
            break;
        }
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    return out;
}

// ---- timing ---------------------------------------------------------------------------------

double median(std::vector<double> s) {
    const size_t n = s.size();
    if (n == 0) return NAN;
    std::sort(s.begin(), s.end());
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

// ---- the host -------------------------------------------------------------------------------

bool cpu_runs_target(const std::string &t) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (t.find("avx512") != std::string::npos)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    if (t.find("avx2") != std::string::npos)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("avx");
    if (t.find("sse41") != std::string::npos) return __builtin_cpu_supports("sse4.1");
#else
    (void)t;
#endif
    return true;
}

std::string self_exe_path() {
    char b[4096];
    const ssize_t n = ::readlink("/proc/self/exe", b, sizeof b - 1);
    return n > 0 ? std::string(b, static_cast<size_t>(n)) : std::string();
}

}  // namespace poolgen::util
