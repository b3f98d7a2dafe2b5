// libpoolgen's registry (the kernels linked in, found by name or by spec and device) and its
// checker (a kernel's outputs against the reference loops). Running a kernel is kernel.cpp's.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "poolgen/poolgen.h"

namespace poolgen {

void Registry::add(KernelInfo info) {
    owned_.push_back(std::make_unique<Kernel>(std::move(info)));
    view_.push_back(owned_.back().get());
}

Registry &registry() {
    static Registry r;
    return r;
}

const Kernel *Registry::find(const std::string &name) const {
    for (const Kernel *k : view_)
        if (k->name() == name) return k;
    return nullptr;
}

const Kernel *Registry::find(const PoolSpec &spec_in, Device device, Status *why) const {
    if (!parse_device(to_string(device))) {
        if (why) *why = Status::Error("device is not auto, cpu or cuda (enum value " + std::to_string(int(device)) + ")");
        return nullptr;
    }
    PoolSpec spec = spec_in;
    spec.normalize();
    if (Status s = spec.validate(); !s.ok()) {
        if (why) *why = s;
        return nullptr;
    }
    for (const Kernel *k : view_)
        if (k->spec() == spec && k->has_variant(device == Device::Auto ? Device::Auto : device)) {
            if (why) *why = Status::Ok();
            return k;
        }
    if (why) {
        // Nearest: same op first, then same layout, then closest input shape.
        std::vector<std::pair<double, const Kernel *>> ranked;
        for (const Kernel *k : view_) {
            const PoolSpec &o = k->spec();
            double score = (o.op != spec.op) * 1000.0 + (o.layout != spec.layout) * 100.0 + (o.dtype != spec.dtype) * 100.0 +
                           (o.input.size() != spec.input.size()) * 500.0;
            if (o.input.size() == spec.input.size())
                for (size_t i = 0; i < o.input.size(); i++)
                    score += std::fabs(std::log(double(o.input[i]) / double(spec.input[i])));
            score += (o.kernel != spec.kernel) + (o.stride != spec.stride) + (o.padding != spec.padding) +
                     (o.padding_end != spec.padding_end) + (o.rules != spec.rules) + (o.dilation != spec.dilation) + (o.ceil_mode != spec.ceil_mode) + (o.output_size != spec.output_size) +
                     (o.return_indices != spec.return_indices);
            ranked.push_back({score, k});
        }
        std::stable_sort(ranked.begin(), ranked.end(), [](auto &a, auto &b) { return a.first < b.first; });
        std::ostringstream os;
        os << "no configured kernel computes " << spec.describe() << " on " << to_string(device);
        if (ranked.empty()) os << "; this binary holds no kernels";
        else {
            os << "; nearest configured:";
            for (size_t i = 0; i < ranked.size() && i < 3; i++)
                os << (i ? ";" : "") << " '" << ranked[i].second->name() << "' (" << ranked[i].second->spec().describe() << ")";
        }
        *why = Status::Error(os.str());
    }
    return nullptr;
}

CheckResult compare(const PoolSpec &spec, const float *input, const float *expected, const int64_t *expected_indices,
                    const float *actual, const int64_t *actual_indices) {
    CheckResult r;
    if (!expected || !actual) {
        r.status = Status::Error("compare: expected and actual outputs must not be null");
        return r;
    }
    std::vector<double> bounds;
    if (Status s = reference::error_bounds(spec, input, &bounds); !s.ok()) {
        r.status = s;
        return r;
    }
    const bool exact = is_max(spec.op) || is_quantized(spec.dtype);
    const std::vector<int64_t> shape = spec.output_memory_shape();
    std::string first;
    r.elements = static_cast<int64_t>(bounds.size());
    for (int64_t i = 0; i < r.elements; i++) {
        const float e = expected[i], a = actual[i];
        bool ok;
        if (std::isnan(e) || std::isnan(a)) ok = std::isnan(e) && std::isnan(a);
        else if (exact || std::isinf(e) || std::isinf(a)) ok = std::memcmp(&e, &a, sizeof e) == 0 || (e == a && !exact);
        else {
            const double err = std::fabs(double(a) - double(e));
            ok = err <= bounds[i];
            r.max_abs_error = std::max(r.max_abs_error, err);
            if (e != 0) r.max_rel_error = std::max(r.max_rel_error, err / std::fabs(double(e)));
        }
        std::string what;
        if (!ok) what = "value " + std::to_string(a) + ", expected " + std::to_string(e);
        else if (expected_indices && actual_indices && expected_indices[i] != actual_indices[i]) {
            ok = false;
            what = "index " + std::to_string(actual_indices[i]) + ", expected " + std::to_string(expected_indices[i]);
        }
        if (!ok) {
            if (r.mismatches++ == 0) {
                r.first_mismatch = i;
                // Memory position as coordinates, outermost first.
                std::vector<int64_t> coord(shape.size());
                int64_t rem = i;
                for (int d = static_cast<int>(shape.size()) - 1; d >= 0; d--) {
                    coord[d] = rem % shape[d];
                    rem /= shape[d];
                }
                first = "at output[" + join_dims(coord, ",") + "] (memory order): " + what;
            }
        }
    }
    if (r.mismatches)
        r.status = Status::Error(std::to_string(r.mismatches) + " of " + std::to_string(r.elements) +
                                 " outputs differ from the reference; first " + first);
    return r;
}

CheckResult check(const Kernel &kernel, const void *input, const void *output, const int64_t *indices) {
    CheckResult r;
    const PoolSpec &s = kernel.spec();
    if (!input || !output) {
        r.status = Status::Error("check: input and output must not be null");
        return r;
    }
    // The reference and the comparison work on float32: f16/bf16 values widened (exactly).
    std::vector<float> ref, wide_in, wide_out;
    std::vector<int64_t> ref_idx;
    try {
        ref.resize(static_cast<size_t>(s.output_elements()));
        if (indices) ref_idx.resize(ref.size());
        if (s.dtype != DType::F32) {
            wide_in.resize(static_cast<size_t>(s.input_elements()));
            wide_out.resize(ref.size());
        }
    } catch (const std::bad_alloc &) {
        r.status = Status::Error("check: out of memory for the reference output");
        return r;
    }
    const float *in = static_cast<const float *>(input), *out = static_cast<const float *>(output);
    if (s.dtype != DType::F32) {
        for (size_t i = 0; i < wide_in.size(); i++) wide_in[i] = load_element(s.dtype, input, static_cast<int64_t>(i));
        for (size_t i = 0; i < wide_out.size(); i++) wide_out[i] = load_element(s.dtype, output, static_cast<int64_t>(i));
        in = wide_in.data();
        out = wide_out.data();
    }
    if (Status st = reference::run(s, in, ref.data(), indices ? ref_idx.data() : nullptr); !st.ok()) {
        r.status = st;
        return r;
    }
    return compare(s, in, ref.data(), indices ? ref_idx.data() : nullptr, out, indices);
}

}  // namespace poolgen
