// poolgen: validate manifests, list the kernels linked into this binary, run one on .npy
// data, check kernels against the reference loops, and time them.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <random>
#include <sstream>

#include <CLI/CLI.hpp>

#include "HalideRuntime.h"
#include "bench.h"
#include "onnx_import.h"
#include "tune.h"
#include "poolgen/manifest.h"
#include "poolgen/npy.h"
#include "poolgen/poolgen.h"
#include "poolgen/spec_fields.h"
#include "poolgen/util.h"

namespace {

using namespace poolgen;

struct Failure {
    std::string message;
};
[[noreturn]] void fail(const std::string &message) { throw Failure{message}; }

std::string shape_str(const std::vector<int64_t> &v) {
    std::string s = "(";
    for (size_t i = 0; i < v.size(); i++) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + (v.size() == 1 ? ",)" : ")");
}

Device device_from(const std::string &s) {
    auto d = parse_device(s);
    if (!d) fail("--device must be cpu, cuda or auto, got '" + s + "'");
    return *d;
}

const Kernel &kernel_named(const std::string &name) {
    const Kernel *k = registry().find(name);
    if (!k) {
        std::string names;
        for (const Kernel *x : registry().kernels()) names += (names.empty() ? "" : ", ") + x->name();
        fail("no kernel named '" + name + "' in this binary (kernels: " + (names.empty() ? "none" : names) + ")");
    }
    return *k;
}

std::vector<const Kernel *> kernels_named(const std::vector<std::string> &names) {
    std::vector<const Kernel *> out;
    if (names.empty()) return registry().kernels();
    for (const auto &n : names) out.push_back(&kernel_named(n));
    return out;
}

using util::median_ms;

std::string fmt(double v, int prec = 3) {
    std::ostringstream os;
    os.setf(std::ios::fixed);
    os.precision(prec);
    os << v;
    return os.str();
}

std::string sci(double v) {
    std::ostringstream os;
    os.precision(2);
    os << std::scientific << v;
    return os.str();
}

// ---- options checked before anything is built, timed or written ------------------------------

std::string number(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

void require_count(const char *flag, long long v, long long lo, long long hi, const std::string &note = "") {
    if (v < lo || v > hi)
        fail(std::string(flag) + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) + note + ", got " +
             std::to_string(v));
}

void require_seconds(const char *flag, double v, bool zero_ok) {
    if (!std::isfinite(v) || v < 0 || (!zero_ok && v == 0))
        fail(std::string(flag) + " must be a " + (zero_ok ? "non-negative" : "positive") + " number, got " + number(v));
}

// Halide's thread pool holds at most 256 threads; 0 or nothing means every core.
void require_threads(const CLI::App *cmd, int threads) {
    if (cmd->count("--threads")) require_count("--threads", threads, 1, 256, " (omit it to use every core)");
}

// The directory holding `path` ("." for a bare name); trailing slashes ignored.
std::string parent_of(std::string path) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

// A results file is written beside its target and renamed: its directory must exist and take
// new files, and the target must not be a directory. Found now, not after the whole run.
void require_output_file(const char *flag, const std::string &path) {
    if (path.empty()) fail(std::string(flag) + ": the path is empty");
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) fail(std::string(flag) + " " + path + ": is a directory; give a file name");
    const std::string dir = parent_of(path);
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) fail(std::string(flag) + " " + path + ": " + dir + " is not an existing directory");
    if (::access(dir.c_str(), W_OK | X_OK) != 0) fail(std::string(flag) + " " + path + ": cannot create files in " + dir);
}

// A directory poolgen creates on demand: what exists of it must be directories, and the
// deepest existing one must take new entries.
void require_directory(const char *flag, const std::string &path) {
    if (path.empty()) fail(std::string(flag) + ": the path is empty");
    std::string p = path;
    struct stat st;
    while (::stat(p.c_str(), &st) != 0) {
        if (errno != ENOENT) fail(std::string(flag) + " " + path + ": cannot use " + p + ": " + std::strerror(errno));
        p = parent_of(p);
    }
    if (!S_ISDIR(st.st_mode)) fail(std::string(flag) + " " + path + ": " + p + " is not a directory");
    if (::access(p.c_str(), W_OK | X_OK) != 0) fail(std::string(flag) + " " + path + ": cannot create entries in " + p);
}

int cmd_validate(const std::string &path) {
    Manifest m;
    if (Status s = load_manifest(path, &m); !s.ok()) fail(s.message());
    std::cout << path << ": valid, " << m.kernels.size() << " kernel(s)\n";
    return 0;
}

using util::json_escape;

std::string json_dims(const std::vector<int64_t> &v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); i++) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
}

std::string targets_of(const Kernel &k) {
    std::string t;
    if (k.has_variant(Device::CPU)) t += "cpu";
    if (k.has_variant(Device::CUDA)) t += t.empty() ? "cuda" : ",cuda";
    return t;
}

// Where `device` sends this kernel now: cpu, cuda, or "-" when it cannot run here.
std::string runs_on(const Kernel &k, Device device) {
    Device d;
    return k.resolve(device, &d).ok() ? to_string(d) : "-";
}

int cmd_list(bool as_json, const std::string &device_name) {
    const Device device = device_from(device_name);
    const auto &ks = registry().kernels();
    if (as_json) {
        std::cout << "[";
        for (size_t i = 0; i < ks.size(); i++) {
            const Kernel &k = *ks[i];
            // Effective values: the end padding and ONNX's storage order even where they are defaults.
            PoolSpec s = k.spec();
            if (is_windowed(s.op) && s.padding_end.empty()) s.padding_end = s.padding;
            if (s.onnx_rules() && s.return_indices && !s.storage_order) s.storage_order = 0;
            std::cout << (i ? ",\n " : "\n ") << "{\"name\": \"" << json_escape(k.name()) << "\"";
            for (const SpecField &f : spec_fields()) {
                if (!listed_for(f, s.op)) continue;
                std::cout << ", \"" << f.name << "\": " << field_json(s, f);
                if (f.member == SpecMember(&PoolSpec::input)) std::cout << ", \"output\": " << json_dims(s.output_shape());
            }
            std::cout << ", \"targets\": [";
            bool first = true;
            for (Device d : {Device::CPU, Device::CUDA})
                if (k.has_variant(d)) {
                    std::cout << (first ? "" : ", ") << "\"" << to_string(d) << "\"";
                    first = false;
                }
            std::cout << "], \"runs_on\": \"" << runs_on(k, device) << "\", \"set\": \"" << json_escape(k.info().set) << "\", \"schedule\": \"" << json_escape(k.info().schedule)
                      << "\", \"describe\": \"" << json_escape(k.spec().describe()) << "\"}";
        }
        std::cout << (ks.empty() ? "]\n" : "\n]\n");
        return 0;
    }
    size_t w = 4;
    for (const Kernel *k : ks) w = std::max(w, k->name().size());
    std::printf("%-*s  %-10s  %-6s  %s\n", int(w), "name", "targets", "runs", "spec  [schedule]");
    for (const Kernel *k : ks)
        std::printf("%-*s  %-10s  %-6s  %s  [%s]\n", int(w), k->name().c_str(), targets_of(*k).c_str(), runs_on(*k, device).c_str(),
                    k->spec().describe().c_str(), k->info().schedule.c_str());
    return 0;
}

int cmd_run(const std::string &name, const std::string &in_path, const std::string &out_path, const std::string &idx_path,
            const std::string &device, bool check) {
    const Kernel &k = kernel_named(name);
    const PoolSpec &s = k.spec();
    const Device dev = device_from(device);
    if (!idx_path.empty() && !s.return_indices)
        fail("--indices: kernel '" + name + "' does not return indices (return_indices is false in its manifest)");
    if (in_path.empty()) fail("--input: the path is empty");
    // A directory in place of a result would only be found when the second rename fails, after
    // the first has replaced its target: both results are checked before anything is written.
    require_output_file("--output", out_path);
    if (!idx_path.empty()) require_output_file("--indices", idx_path);
    if (in_path == out_path || (!idx_path.empty() && (idx_path == in_path || idx_path == out_path)))
        fail("--input, --output and --indices must be different files");
    npy::Array in;
    if (Status st = npy::read(in_path, &in); !st.ok()) fail(st.message());
    const std::string descr = npy_descr(s.dtype);
    // One-byte types have no byte order: NumPy writes '|u1', and '<u1' means the same.
    const bool same_bytes = dtype_size(s.dtype) == 1 && in.descr.size() == 3 && in.descr.substr(1) == descr.substr(1) &&
                            (in.descr[0] == '<' || in.descr[0] == '=');
    if (in.descr != descr && !same_bytes)
        fail(in_path + ": dtype is " + in.descr + ", kernel '" + name + "' needs " + descr + " (" + to_string(s.dtype) + ")");
    if (in.shape != s.input_memory_shape())
        fail(in_path + ": shape is " + shape_str(in.shape) + ", kernel '" + name + "' needs " + shape_str(s.input_memory_shape()) +
             " (" + to_string(s.layout) + " memory order)");
    std::vector<uint8_t> out(static_cast<size_t>(s.output_elements()) * dtype_size(s.dtype));
    std::vector<int64_t> idx(s.return_indices ? static_cast<size_t>(s.output_elements()) : 0);
    if (Status st = k.run(in.data.data(), out.data(), s.return_indices ? idx.data() : nullptr, dev); !st.ok()) fail(st.message());
    if (check) {
        CheckResult r = poolgen::check(k, in.data.data(), out.data(), s.return_indices ? idx.data() : nullptr);
        if (!r.status.ok()) fail("--check: kernel '" + name + "': " + r.status.message());
    }
    // Both files are written beside their targets first and renamed only when both are whole.
    const std::vector<int64_t> shape = s.output_memory_shape();
    util::AtomicFile out_file(out_path), idx_file(idx_path);
    if (Status st = npy::write(&out_file, descr, shape, out.data(), out.size()); !st.ok()) fail(st.message());
    if (!idx_path.empty())
        if (Status st = npy::write(&idx_file, "<i8", shape, idx.data(), idx.size() * sizeof(int64_t)); !st.ok())
            fail(st.message());
    if (!out_file.commit()) fail(out_path + ": cannot write: " + out_file.error_text());
    if (!idx_path.empty() && !idx_file.commit()) fail(idx_path + ": cannot write: " + idx_file.error_text());
    if (check) std::cerr << "poolgen: '" << name << "' matches the reference loops\n";
    return 0;
}

int cmd_check(const std::vector<std::string> &names, const std::string &device, uint64_t seed, bool timed, double min_time) {
    const Device dev = device_from(device);
    const auto ks = kernels_named(names);
    if (ks.empty()) fail("this binary holds no kernels");
    size_t w = 6;
    for (const Kernel *k : ks) w = std::max(w, k->name().size());
    std::printf("%-*s  %-36s  %-6s  %-9s", int(w), "kernel", "input -> output", "result", "max err");
    if (timed) std::printf("  %10s  %12s  %8s", "ms", "reference ms", "speed-up");
    std::printf("\n");
    int failures = 0;
    size_t skipped = 0;
    for (const Kernel *k : ks) {
        const PoolSpec &s = k->spec();
        const std::string shapes = join_dims(s.input) + " -> " + join_dims(s.output_shape());
        std::string result = "ok", detail;
        double max_err = 0;
        std::vector<uint8_t> out(static_cast<size_t>(s.output_elements()) * dtype_size(s.dtype));
        std::vector<int64_t> idx(s.return_indices ? static_cast<size_t>(s.output_elements()) : 0);
        int64_t *idx_ptr = s.return_indices ? idx.data() : nullptr;
        std::vector<uint8_t> in;
        // A kernel built without a CUDA variant is not a failure of --device cuda: it is skipped.
        if (dev == Device::CUDA && !k->has_variant(Device::CUDA)) {
            result = "skip";
            detail = "no cuda variant (targets: " + targets_of(*k) + ")";
        }
        for (bool specials : {false, true}) {
            if (result == "skip") break;
            in = reference::sample_elements(s, seed + (specials ? 1 : 0), specials);
            if (Status st = k->run(in.data(), out.data(), idx_ptr, dev); !st.ok()) {
                result = "FAIL";
                detail = st.message();
                break;
            }
            CheckResult r = poolgen::check(*k, in.data(), out.data(), idx_ptr);
            max_err = std::max(max_err, r.max_abs_error);
            if (!r.status.ok()) {
                result = "FAIL";
                detail = std::string(specials ? "with NaN/inf input: " : "") + r.status.message();
                break;
            }
        }
        std::printf("%-*s  %-36s  %-6s  %-9s", int(w), k->name().c_str(), shapes.c_str(), result.c_str(), result == "skip" ? "-" : sci(max_err).c_str());
        if (timed && result == "ok") {
            in = reference::sample_elements(s, seed, false);
            const double t = median_ms([&] { (void)k->run(in.data(), out.data(), idx_ptr, dev); }, min_time);
            const std::vector<float> ref_in = reference::sample_input(s, seed, false);
            std::vector<float> ref(static_cast<size_t>(s.output_elements()));
            std::vector<int64_t> ref_idx(idx.size());
            const double tr = median_ms(
                [&] { (void)reference::run(s, ref_in.data(), ref.data(), s.return_indices ? ref_idx.data() : nullptr); }, min_time);
            std::printf("  %10s  %12s  %7.1fx", fmt(t, 4).c_str(), fmt(tr, 4).c_str(), tr / t);
        }
        std::printf("\n");
        if (!detail.empty()) std::printf("    %s\n", detail.c_str());
        failures += result == "FAIL";
        skipped += result == "skip";
    }
    std::printf("%zu kernel(s) checked: %zu passed, %d failed", ks.size(), ks.size() - failures - skipped, failures);
    if (skipped) std::printf(", %zu skipped", skipped);
    std::printf("\n");
    std::fflush(stdout);
    return failures ? 1 : 0;
}

}  // namespace

int main(int argc, char **argv) {
    CLI::App app{"poolgen: fixed-shape pooling kernels generated ahead of time"};
    app.require_subcommand(1);
    std::string path, name, in_path, out_path, idx_path, device = "auto", json_path;
    std::vector<std::string> names;
    bool as_json = false, check = false, timed = false;
    uint64_t seed = 1;
    int threads = 0;
    double min_time = 0.2;
    poolgen::bench::Options bench_opt;

    auto *validate = app.add_subcommand("validate", "check a manifest without building anything");
    validate->add_option("FILE", path, "manifest (JSON, version 1)")->required();
    auto *list = app.add_subcommand("list", "list the kernels linked into this binary");
    list->add_flag("--json", as_json, "machine-readable output");
    list->add_option("--device", device, "show where cpu, cuda or auto (default) sends each kernel");
    auto *run = app.add_subcommand("run", "run one kernel on .npy data");
    run->add_option("NAME", name, "kernel name")->required();
    run->add_option("--input", in_path, "input .npy (the kernel's dtype: <f4, <f2, bf16 bits as <u2, |u1 or |i1; its memory layout)")->required();
    run->add_option("--output", out_path, "output .npy to write")->required();
    run->add_option("--indices", idx_path, "indices .npy to write (<i8; max kernels with return_indices)");
    run->add_option("--device", device, "cpu, cuda or auto");
    run->add_flag("--check", check, "also run the reference loops; fail if the results differ");
    auto *chk = app.add_subcommand("check", "random inputs (NaN, inf, ties) against the reference loops");
    chk->add_option("NAME", names, "kernels (default: all)");
    chk->add_option("--device", device, "cpu, cuda or auto");
    chk->add_option("--seed", seed, "random seed");
    chk->add_flag("--time", timed, "also time each kernel against the reference loops");
    chk->add_option("--min-time", min_time, "seconds of repetitions per timing");
    poolgen::bench::TuneOptions tune_opt;
    poolgen::bench::TrialOptions trial_opt;
    auto *tune = app.add_subcommand("tune", "search schedule knobs for one kernel on this machine; write the winner to schedules/db");
    tune->add_option("NAME", tune_opt.name, "kernel")->required();
    tune->add_option("--device", device, "cpu, or cuda (needs a GPU)");
    tune->add_option("--budget", tune_opt.budget_s, "seconds for the search (default 600)");
    tune->add_option("--threads", tune_opt.threads, "threads to tune for (default: all cores)");
    tune->add_option("--seed", tune_opt.seed, "fixes the candidate order (default 1)");
    tune->add_option("--db", tune_opt.db_dir, "schedule db directory (default: the source tree's schedules/db)");
    tune->add_option("--work-dir", tune_opt.work_dir, "trial files and trials.jsonl (default: tune/NAME beside this program)");
    tune->add_flag("--fresh", tune_opt.fresh, "forget earlier trials instead of resuming");
    tune->add_option("--candidate", tune_opt.candidates, "try only these (knobs 'name:value,...' or 'autoscheduler:Name')");
    tune->add_option("--confirm", tune_opt.confirm, "best trials re-timed side by side at the end (default 4)");
    tune->add_option("--min-time", tune_opt.min_time, "seconds per timed repetition (default 0.2)");
    tune->add_option("--repeats", tune_opt.repeats, "timed repetitions per candidate (default 5)");
    tune->add_flag("--no-db", [&](int64_t) { tune_opt.write_db = false; }, "report the winner without writing schedules/db");
    auto *trial = app.add_subcommand("tune-trial", "");  // internal: one trial process of poolgen tune
    trial->group("");
    trial->add_option("NAME", trial_opt.name)->required();
    trial->add_option("--lib", trial_opt.libs)->required();
    trial->add_option("--threads", trial_opt.threads);
    trial->add_option("--min-time", trial_opt.min_time);
    trial->add_option("--repeats", trial_opt.repeats);
    trial->add_option("--cold-mb", trial_opt.cold_mb);
    trial->add_option("--seed", trial_opt.seed);
    poolgen::cli::ImportOptions import_opt;
    int64_t import_batch = 0;
    std::vector<std::string> import_inputs;
    std::string import_layout, import_targets, import_prefix;
    bool import_skip = false;
    auto *import = app.add_subcommand("import", "read an ONNX model's pooling nodes into a manifest");
    import->add_option("MODEL", import_opt.model, "the .onnx file")->required();
    import->add_option("-o,--output", import_opt.output, "manifest to write")->required();
    import->add_option("--batch", import_batch, "the batch size (the first dim of every model input not given by --input)");
    import->add_option("--input", import_inputs, "NAME:SHAPE, a model input's shape, e.g. input:1x3x224x224 (repeatable)");
    import->add_option("--layout", import_layout, "nchw (default) or nhwc: the memory layout of the kernels");
    import->add_option("--targets", import_targets, "cpu,cuda (default), cpu or cuda");
    import->add_option("--prefix", import_prefix, "prefix of every kernel name");
    import->add_flag("--skip-unsupported", import_skip, "leave out nodes poolgen cannot express (listed on stderr)");
    import->add_option("--python", import_opt.python, "the Python with the 'onnx' package (default: POOLGEN_PYTHON, else the configured one)");
    auto *bench = app.add_subcommand("bench", "median times and GB/s");
    bench->add_option("NAME", names, "kernels (default: all)");
    bench->add_option("--threads", threads, "threads for the kernels (default: all cores)");
    bench->add_option("--json", json_path, "write the results as JSON");
    bench->add_option("--min-time", bench_opt.min_time, "seconds per timed repetition (default 0.2)");
    bench->add_option("--repeats", bench_opt.repeats, "timed repetitions per implementation; the median is reported (default 5)");
    bench->add_option("--cold-mb", bench_opt.cold_mb, "rotate buffers over at least this many MB; 0: warm cache (default 128)");
    bench->add_option("--anchors", bench_opt.anchors, "anchor libraries to load (default: onednn libtorch)");
    bench->add_option("--device", bench_opt.device, "cpu (default) or cuda: CUDA variants on device buffers, against a device copy");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp &e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp &e) {
        return app.exit(e);
    } catch (const CLI::ParseError &e) {
        std::cerr << "poolgen: error: " << e.what() << " (see poolgen --help)\n";
        return 2;
    }
    try {
        if (*validate) return cmd_validate(path);
        if (*list) return cmd_list(as_json, device);
        if (*run) return cmd_run(name, in_path, out_path, idx_path, device, check);
        if (*chk) return cmd_check(names, device, seed, timed, min_time);
        if (*tune) {
            if (device != "cpu" && device != "auto" && device != "cuda") fail("--device: cpu or cuda, got '" + device + "'");
            require_seconds("--budget", tune_opt.budget_s, false);
            require_threads(tune, tune_opt.threads);
            require_count("--repeats", tune_opt.repeats, 1, 1000000);
            require_count("--confirm", tune_opt.confirm, 1, 1000);
            require_seconds("--min-time", tune_opt.min_time, false);
            if (!tune_opt.work_dir.empty()) require_directory("--work-dir", tune_opt.work_dir);
            if (!tune_opt.db_dir.empty() && tune_opt.write_db) require_directory("--db", tune_opt.db_dir);
            return device == "cuda" ? poolgen::bench::tune_cuda(tune_opt) : poolgen::bench::tune(tune_opt);
        }
        if (*trial) return poolgen::bench::tune_trial(trial_opt);
        if (*import) {
            require_output_file("--output", import_opt.output);
            if (import->count("--batch")) {
                require_count("--batch", import_batch, 1, 1LL << 40);
                import_opt.passthrough.insert(import_opt.passthrough.end(), {"--batch", std::to_string(import_batch)});
            }
            for (const std::string &in : import_inputs) import_opt.passthrough.insert(import_opt.passthrough.end(), {"--input", in});
            if (!import_layout.empty()) import_opt.passthrough.insert(import_opt.passthrough.end(), {"--layout", import_layout});
            if (!import_targets.empty()) import_opt.passthrough.insert(import_opt.passthrough.end(), {"--targets", import_targets});
            if (!import_prefix.empty()) import_opt.passthrough.insert(import_opt.passthrough.end(), {"--prefix", import_prefix});
            if (import_skip) import_opt.passthrough.push_back("--skip-unsupported");
            return poolgen::cli::import_onnx(import_opt);
        }
        if (*bench) {
            require_threads(bench, threads);
            require_count("--repeats", bench_opt.repeats, 1, 1000000);
            require_seconds("--min-time", bench_opt.min_time, false);
            require_seconds("--cold-mb", bench_opt.cold_mb, true);
            if (bench->count("--json")) require_output_file("--json", json_path);
            bench_opt.names = names;
            bench_opt.threads = threads;
            bench_opt.json_path = json_path;
            for (int i = 0; i < argc; i++) bench_opt.command_line += (i ? " " : "") + std::string(argv[i]);
            return poolgen::bench::run(bench_opt);
        }
    } catch (const Failure &f) {
        std::cerr << "poolgen: error: " << f.message << "\n";
        return 1;
    } catch (const std::exception &e) {
        std::cerr << "poolgen: error: " << e.what() << "\n";
        return 1;
    }
    return 2;
}
