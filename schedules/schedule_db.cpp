#include "schedule_db.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "poolgen/spec_fields.h"
#include "poolgen/util.h"

namespace poolgen::schedules {

namespace {

std::string dims(const std::vector<int64_t> &v) { return join_dims(v, "x"); }

std::string fmt_ms(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.4g", v);
    return b;
}

}  // namespace

std::vector<std::string> generator_params(const PoolSpec &s) { return spec_words(s); }

std::string db_file(const std::string &db_dir, const PoolSpec &s) { return db_dir + "/" + s.canonical_name() + ".json"; }

bool read_db(const std::string &path, std::vector<DbEntry> *entries, std::string *error) {
    entries->clear();
    std::ifstream f(path);
    if (!f) return true;
    try {
        const nlohmann::json j = nlohmann::json::parse(f);
        if (j.value("version", 0) != 1) {
            *error = path + ": unknown db version (expected 1)";
            return false;
        }
        for (const auto &e : j.at("entries")) {
            DbEntry d;
            d.target = e.at("target").get<std::string>();
            d.halide = e.at("halide").get<std::string>();
            d.knobs = e.value("knobs", "");
            d.autoscheduler = e.value("autoscheduler", "");
            d.machine = e.value("machine", "");
            d.date = e.value("date", "");
            d.median_ms = e.value("median_ms", 0.0);
            d.default_ms = e.value("default_ms", 0.0);
            d.threads = e.value("threads", 0);
            d.trials = e.value("trials", 0);
            d.seed = e.value("seed", uint64_t(0));
            if (d.knobs.empty() == d.autoscheduler.empty()) {
                *error = path + ": an entry for " + d.target + " needs exactly one of \"knobs\" and \"autoscheduler\"";
                return false;
            }
            entries->push_back(d);
        }
    } catch (const std::exception &e) {
        *error = path + ": not a valid schedule db file: " + e.what();
        return false;
    }
    return true;
}

bool write_db_entry(const std::string &path, const PoolSpec &s, const DbEntry &e, std::string *error) {
    std::vector<DbEntry> entries;
    if (!read_db(path, &entries, error)) return false;
    bool replaced = false;
    for (auto &x : entries)
        if (x.target == e.target) {
            x = e;
            replaced = true;
        }
    if (!replaced) entries.push_back(e);
    nlohmann::ordered_json j;
    j["version"] = 1;
    j["kernel"] = s.canonical_name();
    j["spec"] = s.describe();
    j["entries"] = nlohmann::ordered_json::array();
    for (const auto &x : entries) {
        nlohmann::ordered_json o;
        o["target"] = x.target;
        o["halide"] = x.halide;
        if (!x.knobs.empty()) o["knobs"] = x.knobs;
        if (!x.autoscheduler.empty()) o["autoscheduler"] = x.autoscheduler;
        o["median_ms"] = x.median_ms;
        o["default_ms"] = x.default_ms;
        o["threads"] = x.threads;
        o["machine"] = x.machine;
        o["date"] = x.date;
        o["trials"] = x.trials;
        o["seed"] = x.seed;
        j["entries"].push_back(o);
    }
    util::AtomicFile f(path);
    if (!f.write(j.dump(2) + "\n") || !f.commit()) {
        *error = path + (f.failed_step() == util::AtomicFile::Step::Rename ? ": cannot write (rename failed)" : ": cannot write");
        return false;
    }
    return true;
}

std::string DbChoice::describe() const {
    if (!use) return "cpu strategy defaults" + (warning.empty() ? std::string() : " (" + warning + ")");
    const std::string what = entry.knobs.empty() ? "autoscheduler " + entry.autoscheduler : entry.knobs;
    return "schedules/db " + what + " (tuned for " + entry.target + " on " + entry.machine + ", " + fmt_ms(entry.median_ms) +
           " ms vs " + fmt_ms(entry.default_ms) + " ms for the defaults at " + std::to_string(entry.threads) + " threads, " +
           entry.date + ")";
}

DbChoice choose_db_entry(const std::string &db_dir, const PoolSpec &s, const std::vector<std::string> &cpu_targets,
                         const std::string &halide_version) {
    DbChoice c;
    if (db_dir.empty()) return c;
    c.file = db_file(db_dir, s);
    std::vector<DbEntry> entries;
    std::string error;
    if (!read_db(c.file, &entries, &error)) {
        c.warning = error + "; not used";
        return c;
    }
    std::vector<std::string> ignored;
    for (const std::string &t : cpu_targets) {
        for (const DbEntry &e : entries) {
            if (e.target != t) continue;
            if (e.halide != halide_version) {
                ignored.push_back("entry for " + e.target + " was tuned with Halide " + e.halide + ", this build uses " +
                                  halide_version);
                continue;
            }
            if (!c.use) {
                c.use = true;
                c.entry = e;
            }
        }
    }
    for (const DbEntry &e : entries) {
        bool known = false;
        for (const std::string &t : cpu_targets) known = known || e.target == t;
        if (!known) ignored.push_back("entry for " + e.target + " does not match this build's CPU targets");
    }
    if (c.use) ignored.clear();  // other machines' entries do not concern this build
    for (size_t i = 0; i < ignored.size(); i++) c.warning += (i ? "; " : "") + ignored[i];
    if (!c.warning.empty()) c.warning = c.file + ": " + c.warning;
    return c;
}

}  // namespace poolgen::schedules
