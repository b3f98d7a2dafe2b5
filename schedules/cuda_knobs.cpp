// CUDA strategy knobs as text, the tuner's candidates and GPU db keys (see cuda_knobs.h).
#include "cuda_knobs.h"

#include <cctype>
#include <cstdlib>
#include <sstream>
#include <utility>

namespace poolgen::schedules {

namespace {

// Each knob: its name, its field, and the smallest value it takes.
const std::vector<std::pair<const char *, std::pair<int CudaKnobs::*, int>>> &knob_table() {
    static const std::vector<std::pair<const char *, std::pair<int CudaKnobs::*, int>>> t = {
        {"threads_x", {&CudaKnobs::threads_x, 1}}, {"threads_y", {&CudaKnobs::threads_y, 1}},
        {"unroll_window", {&CudaKnobs::unroll_window, 0}}, {"split", {&CudaKnobs::split, 0}},
        {"split_grid", {&CudaKnobs::split_grid, -1}}};
    return t;
}

}  // namespace

std::string format_cuda_knobs(const CudaKnobs &k) {
    std::string out;
    for (const auto &[name, field] : knob_table())
        out += (out.empty() ? "" : ",") + std::string(name) + ":" + std::to_string(k.*(field.first));
    return out;
}

bool parse_cuda_knobs(const std::string &text, CudaKnobs *k, std::string *error) {
    std::stringstream ss(text);
    std::string item;
    CudaKnobs r = *k;
    while (std::getline(ss, item, ',')) {
        if (item.empty()) continue;
        const size_t colon = item.find(':');
        const std::string name = item.substr(0, colon), value = colon == std::string::npos ? "" : item.substr(colon + 1);
        bool found = false;
        for (const auto &[n, field] : knob_table()) {
            if (name != n) continue;
            found = true;
            char *end = nullptr;
            const long v = std::strtol(value.c_str(), &end, 10);
            if (value.empty() || *end || v < field.second || v > 65536) {
                *error = "cuda knob '" + name + "': '" + value + "' is not an integer in [" + std::to_string(field.second) +
                         ", 65536]";
                return false;
            }
            r.*(field.first) = static_cast<int>(v);
        }
        if (!found) {
            *error = "unknown cuda knob '" + name + "' (knobs: " + format_cuda_knobs(CudaKnobs{}) + ")";
            return false;
        }
    }
    if (r.split_grid > 1 || int64_t(r.threads_x) * r.threads_y > kCudaMaxThreadsPerBlock) {
        *error = r.split_grid > 1 ? "cuda knob 'split_grid' is -1, 0 or 1"
                                  : "cuda knobs threads_x * threads_y pass CUDA's 1024 threads per block";
        return false;
    }
    *k = r;
    return true;
}

std::vector<std::string> cuda_generator_params(const CudaKnobs &k) {
    std::vector<std::string> out;
    for (const auto &[name, field] : knob_table()) out.push_back("cuda_" + std::string(name) + "=" + std::to_string(k.*(field.first)));
    return out;
}

std::string cuda_db_target(const std::string &gpu_name, int cc_major, int cc_minor) {
    std::string name = gpu_name;
    for (char &ch : name)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    return "cuda-sm_" + std::to_string(cc_major) + std::to_string(cc_minor) + "-" + name;
}

bool is_cuda_db_target(const std::string &target) { return target.rfind("cuda-sm_", 0) == 0; }

int choose_cuda_entry(const std::vector<DbEntry> &entries, const std::string &cuda_target, const std::string &halide_version) {
    if (cuda_target.empty()) return -1;
    for (size_t i = 0; i < entries.size(); i++)
        if (entries[i].target == cuda_target && entries[i].halide == halide_version) return static_cast<int>(i);
    return -1;
}

std::vector<std::string> cuda_candidates(const PoolSpec &s) {
    std::vector<std::string> out;
    auto add = [&](const CudaKnobs &k) {
        const std::string text = format_cuda_knobs(k);
        if (std::find(out.begin(), out.end(), text) == out.end()) out.push_back(text);
    };
    const CudaKnobs d;
    add(d);
    const int taps = window_taps(s);
    const CudaSplitPlan plan = plan_cuda_split(s, taps, d);
    if (taps >= 2) {
        CudaKnobs serial = d;
        serial.split = 1;
        add(serial);
        const int base = std::max(2, plan.chunks);
        for (int parts : {base / 4, base / 2, base, base * 2, base * 4}) {
            if (parts < 2 || parts > taps) continue;
            for (int grid : {0, 1}) {
                CudaKnobs k = d;
                k.split = parts;
                k.split_grid = grid;
                if (grid == 0 && parts > kCudaMaxThreadsPerBlock) continue;  // one block holds every part
                add(k);
            }
        }
    }
    for (auto [x, y] : {std::pair{32, 8}, std::pair{64, 4}, std::pair{128, 2}, std::pair{32, 4}, std::pair{256, 1}}) {
        CudaKnobs k = d;
        k.threads_x = x;
        k.threads_y = y;
        add(k);
    }
    out.push_back("autoscheduler:Anderson2021");
    return out;
}

}  // namespace poolgen::schedules
