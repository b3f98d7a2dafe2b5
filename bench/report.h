// Formatting and output helpers shared by the CPU and CUDA paths of `poolgen bench`.
#pragma once
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "poolgen/util.h"
#include "timing.h"

namespace poolgen::bench {

inline std::string fmt(double v, int prec) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", prec, v);
    return b;
}

using util::json_escape;

inline std::string read_first_line(const std::string &path) {
    std::ifstream f(path);
    std::string l;
    std::getline(f, l);
    return l;
}

inline std::string cpu_model() {
    std::ifstream f("/proc/cpuinfo");
    std::string l;
    while (std::getline(f, l))
        if (l.rfind("model name", 0) == 0) return l.substr(l.find(':') + 2);
    return "unknown";
}

inline std::string now_iso() {
    std::time_t t = std::time(nullptr);
    char b[64];
    std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return b;
}

// Written beside the target and renamed when complete: never a half-written results file.
inline void write_atomically(const std::string &path, const std::string &content) {
    util::AtomicFile f(path);
    if (!f.write(content) || !f.commit())
        fail(path + (f.failed_step() == util::AtomicFile::Step::Rename ? ": cannot write (rename failed)" : ": cannot write"));
}

// A results row: {"kernel": K, "impl": I, <extra>"threads": N, "median_ms": T, "gbps": G}.
inline std::string result_row(const std::string &kernel, const std::string &impl, const std::string &extra, int threads,
                              double ms, double gbps) {
    std::ostringstream r;
    r << "{\"kernel\": \"" << json_escape(kernel) << "\", \"impl\": \"" << json_escape(impl) << "\", " << extra
      << "\"threads\": " << threads << ", \"median_ms\": " << ms << ", \"gbps\": " << gbps << "}";
    return r.str();
}

// The results file: {"machine": {<machine>}, "results": [rows], "notes": [notes]}.
inline void write_results(const std::string &path, const std::string &machine, const std::vector<std::string> &rows,
                          const std::vector<std::string> &notes) {
    std::ostringstream js;
    js << "{\"machine\": {" << machine << "},\n \"results\": [";
    for (size_t i = 0; i < rows.size(); i++) js << (i ? ",\n  " : "\n  ") << rows[i];
    js << "\n ],\n \"notes\": [";
    for (size_t i = 0; i < notes.size(); i++) js << (i ? ",\n  " : "\n  ") << "\"" << json_escape(notes[i]) << "\"";
    js << "]}\n";
    write_atomically(path, js.str());
}

}  // namespace poolgen::bench
