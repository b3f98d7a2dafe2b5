// Manifest v1: the JSON list of kernels a build generates (format in docs/manifest.md).
#pragma once
#include <string>
#include <vector>

#include "poolgen/spec.h"
#include "poolgen/status.h"

namespace poolgen {

struct ManifestKernel {
    std::string name;  // C identifier, unique in the manifest
    PoolSpec spec;     // normalized and validated
    bool cpu = true;   // "targets"
    bool cuda = true;
};

struct Manifest {
    std::vector<ManifestKernel> kernels;
};

// Parses and validates; the error is one line naming the kernel, the field and the rule.
Status parse_manifest(const std::string &json_text, Manifest *out);
// As parse_manifest, reading `path`; errors start with the path.
Status load_manifest(const std::string &path, Manifest *out);

// Kernel names become C symbols and file names: [A-Za-z_][A-Za-z0-9_]*, at most 64 characters.
bool is_valid_kernel_name(const std::string &name);

}  // namespace poolgen
