// schedules/db: the tuned-schedule database. One JSON file per kernel spec, named by the spec's
// canonical name, holding one entry per target it was tuned for:
//   { "version": 1, "kernel": "<canonical name>", "spec": "<describe()>",
//     "entries": [ { "target": "x86-64-linux-avx512_skylake", "halide": "21.0.0",
//                    "knobs": "vectorize:c,...",  (or "autoscheduler": "Adams2019")
//                    "median_ms": 0.123, "default_ms": 0.150, "threads": 2,
//                    "machine": "...", "date": "...", "trials": 40, "seed": 1 } ] }
// The build uses an entry whose target is one of the CPU targets it generates and whose Halide
// version is the one it builds with; any other entry for the kernel is reported, never used.
// Shared by the configure-time manifest tool and `poolgen tune`; no Halide here.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "poolgen/spec.h"

namespace poolgen::schedules {

// The generator parameters that describe `s` (op, shapes, window), as name=value words.
std::vector<std::string> generator_params(const PoolSpec &s);

struct DbEntry {
    std::string target, halide, knobs, autoscheduler, machine, date;
    double median_ms = 0, default_ms = 0;
    int threads = 0, trials = 0;
    uint64_t seed = 0;
};

// <db_dir>/<canonical name>.json
std::string db_file(const std::string &db_dir, const PoolSpec &s);

// Entries of one db file; a missing file is no entries. False (and `error`) when the file
// exists but is not a valid db file.
bool read_db(const std::string &path, std::vector<DbEntry> *entries, std::string *error);

// Adds `e` to the file for `s`, replacing an entry with the same target; written atomically.
bool write_db_entry(const std::string &path, const PoolSpec &s, const DbEntry &e, std::string *error);

struct DbChoice {
    bool use = false;      // `entry` applies to this build
    DbEntry entry;
    std::string file;      // the db file consulted
    std::string warning;   // entries that exist but do not apply, and why (empty: none)
    // What `poolgen list` shows as the kernel's schedule.
    std::string describe() const;
};

// The entry this build should use for `s`: target among `cpu_targets` (the generated CPU
// variants, first preferred) and the same Halide version.
DbChoice choose_db_entry(const std::string &db_dir, const PoolSpec &s, const std::vector<std::string> &cpu_targets,
                         const std::string &halide_version);

}  // namespace poolgen::schedules
