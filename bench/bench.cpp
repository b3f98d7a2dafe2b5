// `poolgen bench`: every kernel of this binary timed, in one process run, side by side with the
// reference loops, the read+write roofline and the anchor libraries (oneDNN, libtorch) when
// their modules were built. Method (bench/RESULTS.md): inputs and outputs rotate over
// >= `cold_mb` MB of buffers so each call reads from memory; each implementation is warmed
// up, then timed in `repeats` repetitions of >= `min_time` seconds each, interleaved across
// implementations so that machine noise hits all of them alike; the median is reported.
// Every implementation's output is verified against the reference loops before it is timed.
#include "bench.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>

#include "HalideRuntime.h"
#include "anchor_api.h"
#include "bench_config.h"
#include "poolgen/poolgen.h"
#include "report.h"
#include "roofline.h"
#include "poolgen/util.h"
#include "timing.h"


namespace poolgen::bench {

namespace {

// ---- the machine -------------------------------------------------------------------------

// Cache sizes of cpu0 by level ("L1d", "L2", "L3"), in KiB.
std::map<std::string, long> caches() {
    std::map<std::string, long> out;
    for (int i = 0; i < 8; i++) {
        const std::string d = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
        const std::string level = read_first_line(d + "level"), type = read_first_line(d + "type"), size = read_first_line(d + "size");
        if (level.empty()) break;
        if (type == "Instruction") continue;
        long kb = std::atol(size.c_str());
        if (!size.empty() && size.back() == 'M') kb *= 1024;
        out["L" + level + (type == "Data" ? "d" : "")] = kb;
    }
    return out;
}

std::string isa() {
    if (util::cpu_runs_target("avx512_skylake")) return "avx512 (kernels run their avx512_skylake variant)";
    if (util::cpu_runs_target("avx2")) return "avx2 (kernels run their avx2 variant)";
    return "sse4.1 or lower (kernels run their baseline variant)";
}

// The reference loops on the widened input (one copy: their speed is only a yardstick), into
// a float output of their own.
class ReferenceImpl : public Impl {
public:
    ReferenceImpl(const PoolSpec &s, const Buffers &b) : s_(s), b_(b), out_(static_cast<size_t>(s.output_elements())) {
        if (s.return_indices) idx_.resize(out_.size());
    }
    std::string name() const override { return "reference"; }
    void run(int) override {
        Status st = reference::run(s_, b_.wide(s_.layout), out_.data(), idx_.empty() ? nullptr : idx_.data());
        if (!st.ok()) fail("reference: " + st.message());
    }
    bool result(int, Layout layout, std::vector<float> *out) override {
        if (layout != s_.layout) return false;
        *out = out_;
        return true;
    }

private:
    PoolSpec s_;
    const Buffers &b_;
    std::vector<float> out_;
    std::vector<int64_t> idx_;
};

// The two halves of the roofline, timed as separate rows and summed.
class RooflineRead : public Impl {
public:
    RooflineRead(size_t n, const Buffers &b, int threads) : n_(n), b_(b), threads_(threads) {}
    std::string name() const override { return "roofline:read"; }
    void run(int slot) override { sink_ += read_once(static_cast<const float *>(b_.nchw[slot]), n_, threads_); }
    bool result(int, Layout, std::vector<float> *) override { return false; }
    bool is_anchor() const override { return false; }
    volatile float sink_ = 0;

private:
    size_t n_;
    const Buffers &b_;
    int threads_;
};

class RooflineWrite : public Impl {
public:
    RooflineWrite(size_t n, int slots, int threads) : n_(n), threads_(threads) {
        for (int i = 0; i < slots; i++) bufs_.push_back(alloc_bytes(n * sizeof(float)));
    }
    std::string name() const override { return "roofline:write"; }
    void run(int slot) override { write_once(reinterpret_cast<float *>(bufs_[slot].get()), n_, 1.0f + slot, threads_); }
    bool result(int, Layout, std::vector<float> *) override { return false; }
    bool is_anchor() const override { return false; }

private:
    size_t n_;
    int threads_;
    std::vector<ByteBuf> bufs_;
};

// ---- anchor modules ----------------------------------------------------------------------

struct Module {
    std::string library;
    const AnchorModule *api = nullptr;
    std::string version;
};

std::string exe_dir() {
    const std::string p = util::self_exe_path();
    return p.empty() ? "." : p.substr(0, p.rfind('/'));
}

std::vector<Module> load_modules(const std::vector<std::string> &wanted, std::vector<std::string> *missing) {
    std::vector<Module> out;
    const char *env = std::getenv("POOLGEN_ANCHOR_DIR");
    const std::string dir = env && *env ? env : exe_dir();
    const std::vector<std::string> built = split(POOLGEN_BENCH_ANCHORS_BUILT, ';');
    std::map<std::string, std::string> why_not;
    for (const std::string &m : split(POOLGEN_BENCH_ANCHORS_MISSING, ';')) why_not[m.substr(0, m.find(':'))] = m;
    for (const std::string &lib : wanted) {
        if (lib == "none") continue;
        if (lib != "onednn" && lib != "libtorch") fail("--anchors: unknown library '" + lib + "' (onednn, libtorch or none)");
        if (std::find(built.begin(), built.end(), lib) == built.end()) {
            missing->push_back(why_not.count(lib) ? why_not[lib] : lib + ": not built");
            continue;
        }
        const std::string path = dir + "/poolgen_anchor_" + lib + ".so";
        void *h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            missing->push_back(lib + ": cannot load " + path + ": " + dlerror());
            continue;
        }
        auto entry = reinterpret_cast<const AnchorModule *(*)()>(dlsym(h, "poolgen_anchor_module_v2"));
        if (!entry) {
            missing->push_back(lib + ": " + path + " has no poolgen_anchor_module_v2 (stale module?)");
            continue;
        }
        Module m;
        m.library = lib;
        m.api = entry();
        m.version = m.api->version();
        out.push_back(m);
    }
    return out;
}

struct Row {
    std::string kernel, impl;
    double ms = 0, gbps = 0;
    bool anchor = false;
};

}  // namespace

int run(const Options &opt) {
    if (opt.device == "cuda") return run_cuda(opt);
    if (opt.device != "cpu") fail("--device must be cpu or cuda, got '" + opt.device + "'");
    // Kernels, in registry order, grouped by what they compute regardless of layout: layout
    // twins share one set of anchor, roofline and buffer measurements.
    std::vector<const Kernel *> ks;
    if (opt.names.empty()) ks = registry().kernels();
    for (const std::string &n : opt.names) {
        const Kernel *k = registry().find(n);
        if (!k) fail("no kernel named '" + n + "' in this binary (see poolgen list)");
        ks.push_back(k);
    }
    if (ks.empty()) fail("this binary holds no kernels");
    for (const Kernel *k : ks)
        if (!k->has_variant(Device::CPU)) fail("kernel '" + k->name() + "' has no CPU variant; the bench times CPU kernels (CUDA ones with --device cuda)");
    std::vector<std::vector<const Kernel *>> groups;
    for (const Kernel *k : ks) {
        PoolSpec a = k->spec();
        a.layout = Layout::NCHW;
        bool placed = false;
        for (auto &g : groups) {
            PoolSpec b = g[0]->spec();
            b.layout = Layout::NCHW;
            if (a == b) {
                g.push_back(k);
                placed = true;
                break;
            }
        }
        if (!placed) groups.push_back({k});
    }

    const int threads = opt.threads > 0 ? opt.threads : static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
    std::vector<std::string> missing, notes;
    std::vector<Module> modules = load_modules(opt.anchors, &missing);
    // Every library's thread count, explicitly. Halide's pool does not shrink once started.
    halide_shutdown_thread_pool();
    halide_set_num_threads(threads);
    for (const Module &m : modules) m.api->set_threads(threads);

    const auto cache = caches();
    const long l2_kb = cache.count("L2") ? cache.at("L2") : 0;
    std::printf("poolgen bench: %d thread(s), repetitions of >= %.2f s, median of %d, cold cache: rotating over >= %.0f MB\n",
                threads, opt.min_time, opt.repeats, opt.cold_mb);
    // Other processes on the machine bias every timing: the load average is recorded with them.
    const std::string load_start = read_first_line("/proc/loadavg");
    std::printf("load average at start: %s\n", load_start.c_str());
    std::printf("machine: %s, %ld cores online, L2 %ld KiB/core, L3 %ld KiB; %s\n", cpu_model().c_str(),
                sysconf(_SC_NPROCESSORS_ONLN), l2_kb, cache.count("L3") ? cache.at("L3") : 0, isa().c_str());
    for (const Module &m : modules) std::printf("anchor: %s\n", m.version.c_str());
    for (const std::string &m : missing) std::printf("anchor missing: %s\n", m.c_str());
    std::fflush(stdout);

    std::vector<Row> rows;
    struct Summary {
        std::string kernel, best_anchor;
        double ms = 0, best_ms = 0, roof_ms = 0, bytes = 0;
    };
    std::vector<Summary> summary;

    for (const auto &group : groups) {
        PoolSpec logical = group[0]->spec();
        logical.layout = Layout::NCHW;
        const double elem = static_cast<double>(dtype_size(logical.dtype));
        const double in_bytes = elem * logical.input_elements(), out_bytes = elem * logical.output_elements();
        const double idx_bytes = logical.return_indices ? 8.0 * logical.output_elements() : 0;
        const double footprint = in_bytes + out_bytes + idx_bytes;
        const int slots = rotation_slots(footprint, opt.cold_mb);
        Storage st;
        make_buffers(logical, slots, &st);
        const Buffers &b = st.view;

        std::vector<std::unique_ptr<Impl>> owned;
        std::vector<Timed> timed;
        for (const Kernel *k : group) {
            owned.push_back(std::make_unique<PoolgenImpl>(k, b));
            timed.push_back({owned.back().get(), k->name()});
            owned.push_back(std::make_unique<ReferenceImpl>(k->spec(), b));
            timed.push_back({owned.back().get(), k->name()});
        }
        for (const Module &m : modules) {
            std::vector<std::unique_ptr<Impl>> made;
            std::vector<std::string> mnotes;
            try {
                m.api->make(logical, b, &made, &mnotes);
            } catch (const std::exception &e) {
                mnotes.push_back(m.library + ": cannot set up: " + e.what());
            }
            for (auto &n : mnotes) notes.push_back(group[0]->name() + ": " + n);
            for (auto &i : made) {
                owned.push_back(std::move(i));
                timed.push_back({owned.back().get(), ""});
            }
        }
        const size_t write_floats = static_cast<size_t>((out_bytes + idx_bytes) / 4);
        owned.push_back(std::make_unique<RooflineRead>(static_cast<size_t>(in_bytes / 4), b, threads));
        timed.push_back({owned.back().get(), ""});
        owned.push_back(std::make_unique<RooflineWrite>(write_floats, slots, threads));
        timed.push_back({owned.back().get(), ""});

        // Verification, before any timing: our kernels by poolgen::check (values and indices),
        // everything else by value against the reference loops in each layout.
        std::map<Layout, std::vector<float>> expected;
        for (Layout l : {Layout::NCHW, Layout::NHWC}) {
            PoolSpec s = logical;
            s.layout = l;
            s.return_indices = false;
            expected[l].resize(static_cast<size_t>(s.output_elements()));
            if (Status e = reference::run(s, b.wide(l), expected[l].data()); !e.ok()) fail("reference: " + e.message());
        }
        std::vector<Timed> verified;
        for (Timed &t : timed) {
            const std::string label = (t.kernel.empty() ? group[0]->name() : t.kernel) + " " + t.impl->name();
            try {
                t.impl->run(0);
            } catch (const std::exception &e) {
                notes.push_back(label + ": failed, not timed: " + e.what());
                continue;
            }
            if (auto *p = dynamic_cast<PoolgenImpl *>(t.impl)) {
                const Kernel *k = registry().find(t.kernel);
                CheckResult r = check(*k, b.in(k->spec().layout, 0), b.out[0], p->indices(0));
                if (!r.status.ok()) fail("kernel '" + k->name() + "' disagrees with the reference loops: " + r.status.message());
                verified.push_back(t);
                continue;
            }
            bool ok = true, compared = false;
            std::string why;
            for (Layout l : {Layout::NCHW, Layout::NHWC}) {
                std::vector<float> got;
                if (!t.impl->result(0, l, &got)) continue;
                compared = true;
                PoolSpec s = logical;
                s.layout = l;
                s.return_indices = false;
                CheckResult r = compare(s, b.wide(l), expected[l].data(), nullptr, got.data(), nullptr);
                if (!r.status.ok()) {
                    ok = false;
                    why = r.status.message();
                }
                break;
            }
            if (!ok) {
                notes.push_back(label + ": differs from PyTorch's semantics, not timed: " + why);
                continue;
            }
            if (!compared && t.impl->is_anchor()) {
                notes.push_back(label + ": output not comparable, not timed");
                continue;
            }
            verified.push_back(t);
        }

        // Warm-up, then interleaved repetitions.
        for (Timed &t : verified) calibrate(t, slots, opt.min_time);
        for (int r = 0; r < opt.repeats; r++)
            for (Timed &t : verified) repetition(t, slots);

        // Rows: every kernel of the group gets its own rows and the group's shared ones.
        double read_ms = NAN, write_ms = NAN;
        for (const Timed &t : verified) {
            if (t.impl->name() == "roofline:read") read_ms = t.median();
            if (t.impl->name() == "roofline:write") write_ms = t.median();
        }
        for (const Kernel *k : group) {
            const double bytes = in_bytes + out_bytes + idx_bytes;
            Summary sm;
            sm.kernel = k->name();
            sm.bytes = bytes;
            std::vector<Row> krows;
            for (const Timed &t : verified) {
                if (!t.kernel.empty() && t.kernel != k->name()) continue;
                if (t.impl->name().rfind("roofline:", 0) == 0) continue;
                Row r{k->name(), t.impl->name(), t.median(), 0, t.impl->is_anchor() && t.kernel.empty()};
                krows.push_back(r);
                if (r.impl == "poolgen") sm.ms = r.ms;
                if (r.anchor && (sm.best_anchor.empty() || r.ms < sm.best_ms)) {
                    sm.best_anchor = r.impl;
                    sm.best_ms = r.ms;
                }
            }
            krows.push_back({k->name(), "roofline", read_ms + write_ms, 0, false});
            krows.push_back({k->name(), "roofline:read", read_ms, 0, false});
            krows.push_back({k->name(), "roofline:write", write_ms, 0, false});
            sm.roof_ms = read_ms + write_ms;
            std::printf("\n%s  [%s]  %s, %d buffer set(s) rotating\n", k->name().c_str(), k->info().schedule.c_str(),
                        k->spec().describe().c_str(), slots);
            std::printf("  %-26s %11s %9s  %s\n", "impl", "median ms", "GB/s", "ratio (impl ms / poolgen ms)");
            for (Row &r : krows) {
                const bool part = r.impl == "roofline:read" || r.impl == "roofline:write";
                r.gbps = (part ? (r.impl == "roofline:read" ? in_bytes : out_bytes + idx_bytes) : bytes) / (r.ms * 1e-3) / 1e9;
                std::string ratio = part ? "" : fmt(r.ms / sm.ms, 2) + "x";
                if (r.impl == "roofline") ratio += "  (poolgen reaches " + fmt(100.0 * r.ms / sm.ms, 0) + "% of the roofline)";
                std::printf("  %-26s %11s %9s  %s\n", r.impl.c_str(), fmt(r.ms, 4).c_str(), fmt(r.gbps, 2).c_str(), ratio.c_str());
                if (!part) rows.push_back(r);
            }
            summary.push_back(sm);
            std::fflush(stdout);
        }
    }

    // Summary against the bar: never slower than the fastest anchor, geometric mean >= 1.5x,
    // >= 80% of the roofline on shapes larger than L2.
    std::printf("\nsummary (%d thread(s)): speed-up = fastest anchor ms / poolgen ms; roofline %% = roofline ms / poolgen ms\n",
                threads);
    std::printf("  %-36s %10s  %-22s %10s %9s %9s %s\n", "kernel", "poolgen ms", "fastest anchor", "ms", "speed-up",
                "roofline", "> L2");
    double log_sum = 0;
    int n_speed = 0;
    for (const Summary &s : summary) {
        const bool big = s.bytes > l2_kb * 1024.0;
        std::printf("  %-36s %10s  %-22s %10s %9s %8s%% %s\n", s.kernel.c_str(), fmt(s.ms, 4).c_str(),
                    s.best_anchor.empty() ? "-" : s.best_anchor.c_str(), s.best_anchor.empty() ? "-" : fmt(s.best_ms, 4).c_str(),
                    s.best_anchor.empty() ? "-" : (fmt(s.best_ms / s.ms, 2) + "x").c_str(), fmt(100 * s.roof_ms / s.ms, 0).c_str(),
                    big ? "yes" : "no");
        if (!s.best_anchor.empty()) {
            log_sum += std::log(s.best_ms / s.ms);
            n_speed++;
        }
    }
    if (n_speed) std::printf("  geometric mean speed-up over the fastest anchor: %.2fx (%d kernels)\n", std::exp(log_sum / n_speed), n_speed);
    const std::string load_end = read_first_line("/proc/loadavg");
    std::printf("load average at end: %s\n", load_end.c_str());
    for (const std::string &n : notes) std::printf("note: %s\n", n.c_str());
    std::fflush(stdout);

    if (!opt.json_path.empty()) {
        std::ostringstream js;
        js << "\"cpu\": \"" << json_escape(cpu_model()) << "\", \"cores_online\": " << sysconf(_SC_NPROCESSORS_ONLN);
        for (const auto &[level, kb] : cache) js << ", \"" << level << "_kib\": " << kb;
        js << ", \"isa\": \"" << json_escape(isa()) << "\", \"halide\": \"" << POOLGEN_HALIDE_VERSION << "\", \"anchors\": {";
        for (size_t i = 0; i < modules.size(); i++)
            js << (i ? ", " : "") << "\"" << modules[i].library << "\": \"" << json_escape(modules[i].version) << "\"";
        js << "}, \"anchors_missing\": [";
        for (size_t i = 0; i < missing.size(); i++) js << (i ? ", " : "") << "\"" << json_escape(missing[i]) << "\"";
        js << "], \"date\": \"" << now_iso() << "\", \"threads\": " << threads << ", \"min_time_s\": " << opt.min_time
           << ", \"repeats\": " << opt.repeats << ", \"cold_mb\": " << opt.cold_mb << ", \"loadavg_start\": \""
           << json_escape(load_start) << "\", \"loadavg_end\": \"" << json_escape(load_end) << "\", \"command\": \""
           << json_escape(opt.command_line) << "\"";
        std::vector<std::string> results;
        for (const Row &r : rows) results.push_back(result_row(r.kernel, r.impl, "", threads, r.ms, r.gbps));
        write_results(opt.json_path, js.str(), results, notes);
    }
    return 0;
}

}  // namespace poolgen::bench
