// libFuzzer target: manifest v1 text -> parse_manifest (JSON, duplicate keys, every field rule,
// PoolSpec validation). Accepted manifests must hold only valid, uniquely named kernels;
// refusals must be one non-empty line.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "fuzz_invariants.h"
#include "poolgen/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text(reinterpret_cast<const char *>(data), size);
    poolgen::Manifest m;
    const poolgen::Status st = poolgen::parse_manifest(text, &m);
    if (!st.ok()) {
        FUZZ_CHECK(fuzzcheck::one_line(st.message()));
        FUZZ_CHECK(m.kernels.empty());
        return 0;
    }
    FUZZ_CHECK(!m.kernels.empty());
    std::set<std::string> names;
    for (const auto &k : m.kernels) {
        FUZZ_CHECK(poolgen::is_valid_kernel_name(k.name));
        FUZZ_CHECK(names.insert(k.name).second);
        FUZZ_CHECK(k.cpu || k.cuda);
        FUZZ_CHECK(k.spec.validate().ok());
        poolgen::PoolSpec again = k.spec;
        again.normalize();  // normalized specs are a fixed point
        FUZZ_CHECK(again == k.spec);
        fuzzcheck::check_valid_spec(k.spec);
        fuzzcheck::run_reference_if_small(k.spec, size);
    }
    return 0;
}
