// `poolgen tune NAME`: for one kernel on this machine, compile candidate schedules (the CPU
// strategy's knob space from schedules/cpu_knobs.h, plus Halide's autoschedulers), verify each
// against the reference loops, time it cold, and write the winner to schedules/db.
//
// Each trial is independent: the generator (recorded at build time) emits a static library for
// the candidate, the compiler links it into a shared object, and a fresh `poolgen tune-trial`
// process dlopens it, verifies it and times it. Candidate order is fixed by the seed; finished
// trials are appended to <work dir>/trials.jsonl, so an interrupted run resumes where it
// stopped. At the end the best few trials and the strategy defaults are timed again side by
// side in one process, and the fastest of those is the winner.
#include "tune.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "HalideRuntime.h"
#include "bench_config.h"
#include "cpu_knobs.h"
#include "poolgen/util.h"
#include "schedule_db.h"
#include "timing.h"

namespace poolgen::bench {

namespace {

std::string self_exe() {
    const std::string p = util::self_exe_path();
    if (p.empty()) fail("cannot find this program's path (/proc/self/exe)");
    return p;
}

std::string dir_of(const std::string &p) { return p.substr(0, p.rfind('/')); }

void make_dirs(const std::string &path) {
    std::string cur = path.rfind('/', 0) == 0 ? "/" : "";  // relative paths stay relative
    for (const std::string &part : split(path, '/')) {
        cur += part + "/";
        if (mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) fail("cannot create directory " + cur);
    }
}

uint64_t fnv1a(const std::string &s) {
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
    return h;
}

std::string hex(uint64_t v) {
    char b[20];
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
    return b;
}

// Runs argv, stdout and stderr to `log` (appended); returns the exit status (-1: no start).
int run_process(const std::vector<std::string> &argv, const std::string &log, std::string *out = nullptr) {
    int pipefd[2] = {-1, -1};
    if (out && pipe(pipefd) != 0) return -1;
    const pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            if (!out) dup2(fd, 1);
        }
        if (out) {
            dup2(pipefd[1], 1);
            close(pipefd[0]);
        }
        std::vector<char *> args;
        for (const std::string &a : argv) args.push_back(const_cast<char *>(a.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    if (out) {
        close(pipefd[1]);
        char buf[4096];
        ssize_t n;
        while ((n = read(pipefd[0], buf, sizeof buf)) > 0) out->append(buf, static_cast<size_t>(n));
        close(pipefd[0]);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::string tail_of(const std::string &path, size_t max_chars = 600) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string s = ss.str();
    if (s.size() > max_chars) s = "..." + s.substr(s.size() - max_chars);
    for (char &c : s)
        if (c == '\n') c = ' ';
    return s;
}

// The first of the build's CPU targets this machine can run (what the dispatcher picks).
std::string host_target() {
    for (const std::string &t : split(POOLGEN_CPU_TARGETS_LIST, ';'))
        if (util::cpu_runs_target(t)) return t;
    fail("this machine runs none of the build's CPU targets (" + std::string(POOLGEN_CPU_TARGETS_LIST) + ")");
}

std::string machine() {
    std::ifstream f("/proc/cpuinfo");
    std::string l, model = "unknown CPU";
    while (std::getline(f, l))
        if (l.rfind("model name", 0) == 0) {
            model = l.substr(l.find(':') + 2);
            break;
        }
    return model + ", " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " cores";
}

std::string today() {
    std::time_t t = std::time(nullptr);
    char b[32];
    std::strftime(b, sizeof b, "%Y-%m-%d", std::gmtime(&t));
    return b;
}

std::string plugin_for(const std::string &name) {
    if (name == "Adams2019") return POOLGEN_PLUGIN_ADAMS2019;
    if (name == "Mullapudi2016") return POOLGEN_PLUGIN_MULLAPUDI2016;
    if (name == "Li2018") return POOLGEN_PLUGIN_LI2018;
    return "";
}

struct Trial {
    std::string candidate;  // knob string, or "autoscheduler:Name"
    bool ok = false;
    double median_ms = 0, min_ms = 0;
    std::string error, lib;
};

// Compiles one candidate into <dir>/trial.so; empty string on success, else why not.
std::string build_candidate(const PoolSpec &spec, const std::string &candidate, const std::string &target, int threads,
                            const std::string &dir) {
    make_dirs(dir);
    const std::string log = dir + "/build.log";
    std::remove(log.c_str());
    std::vector<std::string> gen = {POOLGEN_GENERATOR_PATH, "-g", "poolgen_pool", "-f", "poolgen_trial", "-o", dir,
                                    "-e", "static_library,c_header"};
    // IEEE float semantics, as the kernels are built (PyTorch's NaN rules and rounding).
    const std::string full_target = target + "-strict_float";
    if (candidate.rfind("autoscheduler:", 0) == 0) {
        const std::string as = candidate.substr(14), plugin = plugin_for(as);
        if (plugin.empty()) return "unknown autoscheduler " + as;
        gen.push_back("-p");
        gen.push_back(plugin);
        gen.push_back("target=" + full_target);
        gen.push_back("autoscheduler=" + as);
        if (as != "Li2018") gen.push_back("autoscheduler.parallelism=" + std::to_string(threads));
    } else {
        gen.push_back("target=" + full_target);
        gen.push_back("cpu_schedule=" + candidate);
    }
    for (const std::string &p : schedules::generator_params(spec)) gen.push_back(p);
    if (int rc = run_process(gen, log); rc != 0) return "generator failed (exit " + std::to_string(rc) + "): " + tail_of(log);
    const std::vector<std::string> link = {POOLGEN_CXX, "-shared", "-o", dir + "/trial.so", "-Wl,--whole-archive",
                                           dir + "/poolgen_trial.a", "-Wl,--no-whole-archive", "-lpthread", "-ldl", "-lm"};
    if (int rc = run_process(link, log); rc != 0) return "link failed (exit " + std::to_string(rc) + "): " + tail_of(log);
    return "";
}

// Runs `poolgen tune-trial` on the libraries; one result per library, in order.
std::vector<Trial> run_trials(const TuneOptions &o, int threads, const std::vector<std::string> &libs, const std::string &log) {
    std::vector<std::string> argv = {self_exe(), "tune-trial", o.name, "--threads", std::to_string(threads), "--min-time",
                                     std::to_string(o.min_time), "--repeats", std::to_string(o.repeats), "--cold-mb",
                                     std::to_string(o.cold_mb), "--seed", std::to_string(o.seed)};
    for (const std::string &l : libs) {
        argv.push_back("--lib");
        argv.push_back(l);
    }
    std::string out;
    const int rc = run_process(argv, log, &out);
    std::vector<Trial> trials(libs.size());
    std::map<std::string, Trial> by_lib;
    for (const std::string &line : split(out, '\n')) {
        try {
            const auto j = nlohmann::json::parse(line);
            Trial t;
            t.lib = j.at("lib").get<std::string>();
            t.ok = j.at("ok").get<bool>();
            t.median_ms = j.value("median_ms", 0.0);
            t.min_ms = j.value("min_ms", 0.0);
            t.error = j.value("error", "");
            by_lib[t.lib] = t;
        } catch (...) {
        }
    }
    for (size_t i = 0; i < libs.size(); i++) {
        if (by_lib.count(libs[i])) trials[i] = by_lib[libs[i]];
        else {
            trials[i].lib = libs[i];
            trials[i].error = "trial process failed (exit " + std::to_string(rc) + "): " + tail_of(log);
        }
    }
    return trials;
}

}  // namespace

int tune(const TuneOptions &o) {
    const Kernel *k = registry().find(o.name);
    if (!k) fail("no kernel named '" + o.name + "' in this binary (see poolgen list)");
    const PoolSpec &spec = k->spec();
    const auto t_start = clock_type::now();
    const int threads = o.threads > 0 ? o.threads : static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
    const std::string target = host_target();
    const std::string work = o.work_dir.empty() ? dir_of(self_exe()) + "/tune/" + o.name : o.work_dir;
    const std::string db_dir = o.db_dir.empty() ? POOLGEN_SCHEDULE_DB_DEFAULT : o.db_dir;
    // Candidates in a fixed order: the defaults, Halide's autoschedulers, then the strategy's
    // knob space in its order for the seed (schedules/cpu_knobs.h).
    const std::string defaults = schedules::format_knobs(schedules::default_cpu_knobs(spec));
    std::vector<std::string> cands = o.candidates;
    if (cands.empty()) {
        const std::vector<std::string> space = schedules::cpu_knob_candidates(spec, o.seed);
        cands.push_back(space[0]);
        if (o.autoschedulers)
            for (const char *as : {"Adams2019", "Mullapudi2016", "Li2018"}) cands.push_back(std::string("autoscheduler:") + as);
        cands.insert(cands.end(), space.begin() + 1, space.end());
    } else {
        // Explicit candidates: full knob strings over the defaults, so the db stays self-contained.
        for (std::string &c : cands) {
            if (c.rfind("autoscheduler:", 0) == 0) continue;
            schedules::CpuKnobs kn = schedules::default_cpu_knobs(spec);
            std::string err;
            if (!schedules::parse_knobs(c, &kn, &err)) fail("--candidate: " + err);
            c = schedules::format_knobs(kn);
        }
    }

    make_dirs(work);
    const std::string state = work + "/trials.jsonl";
    // Trials count only for the generator binary that made them (a rebuilt generator may
    // compile the same knobs differently).
    std::string generator_id;
    {
        struct stat sb {};
        if (stat(POOLGEN_GENERATOR_PATH, &sb) != 0) fail(std::string("generator not found: ") + POOLGEN_GENERATOR_PATH);
        generator_id = std::to_string(static_cast<long long>(sb.st_mtime)) + ":" + std::to_string(static_cast<long long>(sb.st_size));
    }
    if (o.fresh) std::remove(state.c_str());

    // Earlier trials of this kernel, target and thread count (resume).
    std::map<std::string, Trial> done;
    {
        std::ifstream f(state);
        std::string line;
        bool whole = true;  // the last line ends in a newline
        while (std::getline(f, line)) {
            whole = !f.eof();
            try {
                const auto j = nlohmann::json::parse(line);
                if (j.at("target") != target || j.at("threads") != threads || j.at("spec") != spec.canonical_name() ||
                    j.value("generator", "") != generator_id)
                    continue;
                Trial t;
                t.candidate = j.at("candidate").get<std::string>();
                t.ok = j.at("ok").get<bool>();
                t.median_ms = j.value("median_ms", 0.0);
                t.error = j.value("error", "");
                t.lib = j.value("lib", "");
                done[t.candidate] = t;
            } catch (...) {
            }
        }
        // A run killed while appending leaves a partial last line: end it, so that the next
        // record starts a line of its own instead of being lost with it.
        if (!whole) std::ofstream(state, std::ios::app) << "\n";
    }
    std::printf("poolgen tune %s: %s\n  target %s, %d thread(s), %zu candidates (seed %llu), budget %.0f s, %zu done earlier (%s)\n",
                o.name.c_str(), spec.describe().c_str(), target.c_str(), threads, cands.size(),
                static_cast<unsigned long long>(o.seed), o.budget_s, done.size(), state.c_str());
    std::fflush(stdout);

    double best = 0;
    for (const auto &[c, t] : done)
        if (t.ok && (best == 0 || t.median_ms < best)) best = t.median_ms;
    const double reserve = std::min(0.25 * o.budget_s, 60.0);  // for the final side-by-side timing
    size_t index = 0, ran = 0;
    for (const std::string &c : cands) {
        index++;
        if (done.count(c)) continue;
        if (seconds_since(t_start) > o.budget_s - reserve) {
            std::printf("  budget reached after %zu new trial(s); %zu candidate(s) left for a later run (same seed resumes)\n", ran,
                        cands.size() - done.size());
            break;
        }
        const std::string dir = work + "/" + hex(fnv1a(generator_id + "|" + target + "|" + std::to_string(threads) + "|" + c));
        Trial t;
        t.candidate = c;
        const auto t0 = clock_type::now();
        if (std::string err = build_candidate(spec, c, target, threads, dir); !err.empty()) {
            t.error = err;
        } else {
            t = run_trials(o, threads, {dir + "/trial.so"}, dir + "/trial.log")[0];
            t.candidate = c;
        }
        t.lib = dir + "/trial.so";
        ran++;
        done[c] = t;
        if (t.ok && (best == 0 || t.median_ms < best)) best = t.median_ms;
        std::printf("  [%3zu/%zu] %5.0fs  %-88s %s\n", index, cands.size(), seconds_since(t_start), c.c_str(),
                    t.ok ? (std::to_string(t.median_ms).substr(0, 8) + " ms  (best " + std::to_string(best).substr(0, 8) + ")").c_str()
                         : ("FAILED: " + t.error.substr(0, 160)).c_str());
        std::fflush(stdout);
        std::ofstream f(state, std::ios::app);
        f << nlohmann::json({{"spec", spec.canonical_name()}, {"target", target}, {"threads", threads}, {"candidate", c},
                             {"generator", generator_id}, {"ok", t.ok}, {"median_ms", t.median_ms}, {"min_ms", t.min_ms},
                             {"error", t.error}, {"lib", t.lib},
                             {"seconds", seconds_since(t0)}})
                 .dump()
          << "\n";
    }

    // The best trials and the defaults, timed again side by side in one process.
    std::vector<Trial> ok;
    for (const auto &[c, t] : done)
        if (t.ok) ok.push_back(t);
    if (done.empty()) {
        char b[64];
        std::snprintf(b, sizeof b, "%g", o.budget_s);
        fail(std::string("--budget ") + b + " s ran out before the first candidate was tried");
    }
    if (ok.empty()) fail("no candidate compiled and matched the reference loops; see " + state);
    std::sort(ok.begin(), ok.end(), [](const Trial &a, const Trial &b) { return a.median_ms < b.median_ms; });
    std::vector<Trial> finalists(ok.begin(), ok.begin() + std::min<size_t>(ok.size(), std::max(1, o.confirm)));
    bool have_default = false;
    for (const Trial &t : finalists) have_default = have_default || t.candidate == defaults;
    if (!have_default && done.count(defaults) && done[defaults].ok) finalists.push_back(done[defaults]);
    std::vector<std::string> libs;
    for (const Trial &t : finalists) libs.push_back(t.lib);
    std::printf("  final: %zu candidate(s) side by side\n", libs.size());
    std::fflush(stdout);
    const std::vector<Trial> final = run_trials(o, threads, libs, work + "/final.log");
    int winner = -1;
    double default_ms = 0;
    for (size_t i = 0; i < final.size(); i++) {
        std::printf("    %-88s %s\n", finalists[i].candidate.c_str(),
                    final[i].ok ? (std::to_string(final[i].median_ms).substr(0, 8) + " ms (min " + std::to_string(final[i].min_ms).substr(0, 8) + ")").c_str()
                                : ("FAILED: " + final[i].error).c_str());
        if (!final[i].ok) continue;
        if (finalists[i].candidate == defaults) default_ms = final[i].median_ms;
        if (winner < 0 || final[i].median_ms < final[winner].median_ms) winner = static_cast<int>(i);
    }
    if (winner < 0) fail("the final comparison failed; see " + work + "/final.log");
    // A winner within the noise of the defaults is no reason to leave them: the defaults stay
    // unless beaten by more than 3% in the side-by-side comparison.
    for (size_t i = 0; i < final.size(); i++)
        if (final[i].ok && finalists[i].candidate == defaults && final[winner].median_ms > final[i].median_ms / 1.03) {
            if (static_cast<int>(i) != winner)
                std::printf("  fastest %s is within 3%% of the defaults: keeping the defaults\n", finalists[winner].candidate.c_str());
            winner = static_cast<int>(i);
        }
    const Trial &w = finalists[winner];
    std::printf("  winner: %s: %.4f ms", w.candidate.c_str(), final[winner].median_ms);
    if (default_ms > 0) std::printf(" (defaults %.4f ms: %.2fx)", default_ms, default_ms / final[winner].median_ms);
    std::printf("\n");

    if (o.write_db) {
        schedules::DbEntry e;
        e.target = target;
        e.halide = POOLGEN_HALIDE_VERSION;
        if (w.candidate.rfind("autoscheduler:", 0) == 0) e.autoscheduler = w.candidate.substr(14);
        else e.knobs = w.candidate;
        e.median_ms = final[winner].median_ms;
        e.default_ms = default_ms;
        e.threads = threads;
        e.machine = machine();
        e.date = today();
        e.trials = static_cast<int>(done.size());
        e.seed = o.seed;
        make_dirs(db_dir);
        const std::string path = schedules::db_file(db_dir, spec);
        std::string err;
        if (!schedules::write_db_entry(path, spec, e, &err)) fail(err);
        std::printf("  wrote %s (reconfigure and rebuild to use it)\n", path.c_str());
    }
    std::fflush(stdout);
    return 0;
}

}  // namespace poolgen::bench
