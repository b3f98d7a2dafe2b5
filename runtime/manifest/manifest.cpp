#include "poolgen/manifest.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "poolgen/util.h"

namespace poolgen {

namespace {

using json = nlohmann::json;

// Thrown inside this file only; parse_manifest turns it into a Status.
struct FieldError {
    std::string field, rule;
};

[[noreturn]] void fail(const std::string &field, const std::string &rule) { throw FieldError{field, rule}; }

// Text from the manifest (names and keys are user data) must not break a message's line.
using util::printable;

// A JSON value as it appears in a message: ASCII only, one line, at most about 80 characters.
std::string shown(const json &v) { return printable(v.dump(-1, ' ', true), 80); }

// What the parse callback found: duplicate keys (nlohmann keeps the last one silently) and
// nesting deeper than any manifest needs. Tracks the JSON path of the current position.
struct ParseGuard {
    static constexpr int kMaxDepth = 16;  // a manifest nests 4 deep
    struct Frame {
        bool array = false;
        size_t index = 0;  // arrays: the element being parsed
        std::string key;   // objects: the latest key
        std::set<std::string> keys;
    };
    std::vector<Frame> stack;
    bool duplicate = false;
    std::vector<std::string> dup_path;  // path tokens: keys, or "[i]" for array elements
    struct TooDeep {};

    std::vector<std::string> path() const {
        std::vector<std::string> p;
        for (const Frame &f : stack) p.push_back(f.array ? "[" + std::to_string(f.index) + "]" : f.key);
        return p;
    }
    void element_done() {
        if (!stack.empty() && stack.back().array) stack.back().index++;
    }
    bool operator()(int depth, json::parse_event_t event, json &parsed) {
        using E = json::parse_event_t;
        switch (event) {
        case E::object_start:
        case E::array_start:
            if (depth > kMaxDepth) throw TooDeep{};
            stack.push_back(Frame{event == E::array_start, 0, {}, {}});
            break;
        case E::key: {
            Frame &f = stack.back();
            f.key = parsed.get<std::string>();
            if (!f.keys.insert(f.key).second && !duplicate) {
                duplicate = true;
                dup_path = path();
            }
            break;
        }
        case E::object_end:
        case E::array_end:
            stack.pop_back();
            element_done();
            break;
        case E::value:
            element_done();
            break;
        }
        return true;
    }
};

// "null", or the JSON type and the value: "string \"3\"", "number 2.5".
std::string typed(const json &v) { return v.is_null() ? "null" : std::string(v.type_name()) + " " + shown(v); }

int64_t get_int(const json &v, const std::string &field) {
    if (!v.is_number_integer()) fail(field, "must be an integer, got " + typed(v));
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
        fail(field, "is out of range: " + shown(v));
    return v.get<int64_t>();
}

bool get_bool(const json &v, const std::string &field) {
    if (!v.is_boolean()) fail(field, "must be true or false, got " + shown(v));
    return v.get<bool>();
}

// An int, or a list of ints (PyTorch accepts both for window parameters).
std::vector<int64_t> get_dims(const json &v, const std::string &field, bool allow_scalar) {
    std::vector<int64_t> out;
    if (allow_scalar && v.is_number()) {
        out.push_back(get_int(v, field));
        return out;
    }
    if (!v.is_array() || v.empty())
        fail(field, std::string(allow_scalar ? "must be an integer or a non-empty list of integers"
                                             : "must be a non-empty list of integers") +
                        ", got " + shown(v));
    for (size_t i = 0; i < v.size(); i++) {
        if (!v[i].is_number_integer())
            fail(field, "entry " + std::to_string(i) + " of " + shown(v) + " must be an integer, got " + typed(v[i]));
        out.push_back(get_int(v[i], field));
    }
    return out;
}

const std::set<std::string> &allowed_fields(Op op) {
    static const std::set<std::string> common = {"name", "op", "dtype", "layout", "input", "targets", "description"};
    static const auto with = [](std::initializer_list<const char *> extra) {
        std::set<std::string> s = common;
        for (const char *e : extra) s.insert(e);
        return s;
    };
    static const std::set<std::string> max_pool =
        with({"kernel", "stride", "padding", "dilation", "ceil_mode", "return_indices"});
    static const std::set<std::string> avg_pool =
        with({"kernel", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"});
    static const std::set<std::string> adaptive_max = with({"output_size", "return_indices"});
    static const std::set<std::string> adaptive_avg = with({"output_size"});
    static const std::set<std::string> global_max = with({"return_indices"});
    static const std::set<std::string> global_avg = common;
    switch (op) {
    case Op::MaxPool: return max_pool;
    case Op::AvgPool: return avg_pool;
    case Op::AdaptiveMaxPool: return adaptive_max;
    case Op::AdaptiveAvgPool: return adaptive_avg;
    case Op::GlobalMaxPool: return global_max;
    case Op::GlobalAvgPool: return global_avg;
    }
    return common;
}

std::string join_keys(const std::set<std::string> &s) {
    std::string out;
    for (const auto &k : s) out += (out.empty() ? "" : ", ") + k;
    return out;
}

ManifestKernel parse_kernel(const json &k) {
    ManifestKernel mk;
    if (!k.is_object()) fail("", "each kernel must be a JSON object, got " + std::string(k.type_name()));
    if (!k.contains("name")) fail("name", "is required");
    if (!k["name"].is_string()) fail("name", "must be a string, got " + shown(k["name"]));
    mk.name = k["name"].get<std::string>();
    if (!is_valid_kernel_name(mk.name))
        fail("name", "must be a C identifier of at most 64 characters ([A-Za-z_][A-Za-z0-9_]*), got " + shown(k["name"]));

    if (!k.contains("op")) fail("op", "is required");
    if (!k["op"].is_string()) fail("op", "must be a string, got " + shown(k["op"]));
    auto op = parse_op(k["op"].get<std::string>());
    if (!op)
        fail("op", "must be one of max_pool, avg_pool, adaptive_max_pool, adaptive_avg_pool, global_max_pool, "
                   "global_avg_pool; got " + shown(k["op"]));
    PoolSpec &s = mk.spec;
    s.op = *op;

    const auto &allowed = allowed_fields(s.op);
    for (const auto &[key, value] : k.items()) {
        (void)value;
        if (!allowed.count(key))
            fail(printable(key), std::string("is not a field of ") + to_string(s.op) + " (its fields: " + join_keys(allowed) + ")");
    }

    if (k.contains("dtype")) {
        if (!k["dtype"].is_string()) fail("dtype", "must be a string, got " + shown(k["dtype"]));
        auto dt = parse_dtype(k["dtype"].get<std::string>());
        if (!dt) fail("dtype", "must be one of f32, got " + shown(k["dtype"]));
        s.dtype = *dt;
    }
    if (k.contains("layout")) {
        if (!k["layout"].is_string()) fail("layout", "must be a string, got " + shown(k["layout"]));
        auto l = parse_layout(k["layout"].get<std::string>());
        if (!l) fail("layout", "must be \"nchw\" (channels first) or \"nhwc\" (channels last), got " + shown(k["layout"]));
        s.layout = *l;
    }
    if (k.contains("description") && !k["description"].is_string())
        fail("description", "must be a string");
    if (!k.contains("input")) fail("input", "is required (logical N, C, spatial sizes...)");
    s.input = get_dims(k["input"], "input", false);
    if (s.input.size() < 3 || s.input.size() > 5)
        fail("input", "must list N, C and 1 to 3 spatial sizes (3 to 5 entries), got " + shown(k["input"]));
    const size_t rank = s.input.size() - 2;

    auto dims_field = [&](const char *name, std::vector<int64_t> &dst) {
        if (!k.contains(name)) return;
        dst = get_dims(k[name], name, true);
        if (dst.size() != 1 && dst.size() != rank)
            fail(name, "must be one integer or a list of " + std::to_string(rank) + " (one per spatial dim), got " +
                           shown(k[name]));
    };
    if (is_windowed(s.op)) {
        if (!k.contains("kernel")) fail("kernel", "is required for " + std::string(to_string(s.op)));
        dims_field("kernel", s.kernel);
        // PyTorch: a null or empty stride is the default (the kernel size).
        const bool default_stride = k.contains("stride") && (k["stride"].is_null() || (k["stride"].is_array() && k["stride"].empty()));
        if (!default_stride) dims_field("stride", s.stride);
        dims_field("padding", s.padding);
        dims_field("dilation", s.dilation);
        if (k.contains("ceil_mode")) s.ceil_mode = get_bool(k["ceil_mode"], "ceil_mode");
        if (k.contains("count_include_pad")) s.count_include_pad = get_bool(k["count_include_pad"], "count_include_pad");
        if (k.contains("divisor_override") && !k["divisor_override"].is_null())
            s.divisor_override = get_int(k["divisor_override"], "divisor_override");
    }
    if (s.op == Op::AdaptiveAvgPool || s.op == Op::AdaptiveMaxPool) {
        if (!k.contains("output_size")) fail("output_size", "is required for " + std::string(to_string(s.op)));
        const json &os = k["output_size"];
        // PyTorch: None in output_size keeps that input size.
        if (os.is_array()) {
            if (os.size() != rank)
                fail("output_size", "must be one integer or a list of " + std::to_string(rank) + " (one per spatial dim), got " +
                                        shown(os));
            for (size_t i = 0; i < os.size(); i++)
                s.output_size.push_back(os[i].is_null() ? s.input[2 + i] : get_int(os[i], "output_size"));
        } else {
            s.output_size = get_dims(os, "output_size", true);
        }
    }
    if (k.contains("return_indices")) s.return_indices = get_bool(k["return_indices"], "return_indices");

    if (k.contains("targets")) {
        const json &t = k["targets"];
        if (!t.is_array() || t.empty()) fail("targets", "must be a non-empty list of \"cpu\" and/or \"cuda\", got " + shown(t));
        mk.cpu = mk.cuda = false;
        for (const auto &e : t) {
            if (!e.is_string()) fail("targets", "entries must be \"cpu\" or \"cuda\", got " + shown(e));
            const std::string v = e.get<std::string>();
            bool &flag = v == "cpu" ? mk.cpu : mk.cuda;
            if (v != "cpu" && v != "cuda") fail("targets", "entries must be \"cpu\" or \"cuda\", got " + shown(e));
            if (flag) fail("targets", "lists " + shown(e) + " twice");
            flag = true;
        }
    }

    s.normalize();
    Status st = s.validate();
    if (!st.ok()) throw FieldError{"", st.message()};
    return mk;
}

}  // namespace

bool is_valid_kernel_name(const std::string &name) {
    if (name.empty() || name.size() > 64) return false;
    for (size_t i = 0; i < name.size(); i++) {
        const char c = name[i];
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        const bool digit = c >= '0' && c <= '9';
        if (!(alpha || (i > 0 && digit))) return false;
    }
    return true;
}

namespace {

// "kernel 'name' (kernels[i])" when kernels[i] is an object with a string name, else "kernels[i]".
std::string kernel_where(const json &doc, size_t i) {
    const std::string at = "kernels[" + std::to_string(i) + "]";
    if (doc.is_object() && doc.contains("kernels") && doc["kernels"].is_array() && i < doc["kernels"].size()) {
        const json &k = doc["kernels"][i];
        if (k.is_object() && k.contains("name") && k["name"].is_string())
            return "kernel '" + printable(k["name"].get<std::string>()) + "' (" + at + ")";
    }
    return at;
}

std::string lower(std::string s) {
    for (char &c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

}  // namespace

Status parse_manifest(const std::string &text, Manifest *out) {
    json doc;
    ParseGuard guard;
    try {
        doc = json::parse(text, std::ref(guard));
    } catch (const json::exception &e) {  // parse_error, or out_of_range for numbers like 1e400
        return Status::Error("not valid JSON: " + printable(e.what(), 200));
    } catch (const ParseGuard::TooDeep &) {
        return Status::Error("not a manifest: JSON nested deeper than " + std::to_string(ParseGuard::kMaxDepth) + " levels");
    } catch (const std::exception &e) {
        return Status::Error("cannot parse the manifest: " + printable(e.what(), 200));
    }
    if (guard.duplicate) {
        // Same form as the other errors: kernel, field, rule. JSON keeps only the last value.
        const auto &p = guard.dup_path;
        std::string where, field;
        if (p.size() == 3 && p[0] == "kernels" && p[1].size() > 2 && p[1].front() == '[') {
            where = kernel_where(doc, std::stoul(p[1].substr(1)));
            field = p[2];
        } else {
            for (size_t i = 0; i + 1 < p.size(); i++)
                where += (i == 0 || p[i].front() == '[' ? "" : ".") + printable(p[i]);
            field = p.empty() ? "" : p.back();
        }
        return Status::Error((where.empty() ? "" : where + ": ") + "field '" + printable(field) +
                             "': appears more than once in the same object (JSON keys must be unique)");
    }
    std::string where;
    try {
        if (!doc.is_object()) fail("", "the manifest must be a JSON object with \"version\" and \"kernels\"");
        for (const auto &[key, value] : doc.items()) {
            (void)value;
            if (key != "version" && key != "kernels" && key != "description")
                fail(printable(key), "is not a manifest field (fields: version, kernels, description)");
        }
        if (!doc.contains("version")) fail("version", "is required (this poolgen reads version 1)");
        if (!doc["version"].is_number_integer() || doc["version"].get<int64_t>() != 1)
            fail("version", "must be 1 (this poolgen reads manifest version 1), got " + shown(doc["version"]));
        if (doc.contains("description") && !doc["description"].is_string())
            fail("description", "must be a string, got " + shown(doc["description"]));
        if (!doc.contains("kernels") || !doc["kernels"].is_array() || doc["kernels"].empty())
            fail("kernels", "must be a non-empty list of kernel objects");
        Manifest m;
        // Names become file names too: unique ignoring case, for case-insensitive file systems.
        std::set<std::string> names;
        for (size_t i = 0; i < doc["kernels"].size(); i++) {
            const json &k = doc["kernels"][i];
            where = kernel_where(doc, i);
            ManifestKernel mk = parse_kernel(k);
            if (!names.insert(lower(mk.name)).second)
                fail("name", "is used by an earlier kernel; names must be unique (ignoring case: they become file names)");
            m.kernels.push_back(std::move(mk));
        }
        *out = std::move(m);
        return Status::Ok();
    } catch (const FieldError &e) {
        std::string msg = where.empty() ? "" : where + ": ";
        if (!e.field.empty()) msg += "field '" + e.field + "': ";
        return Status::Error(msg + e.rule);
    } catch (const std::exception &e) {
        return Status::Error((where.empty() ? "" : where + ": ") + printable(e.what(), 200));
    }
}

Status load_manifest(const std::string &path, Manifest *out) {
    // A directory opens as an empty stream: say what it is rather than "not valid JSON".
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) return Status::Error(path + ": is a directory, not a manifest file");
    std::ifstream f(path, std::ios::binary);
    if (!f) return Status::Error(path + ": cannot open the manifest");
    std::ostringstream ss;
    ss << f.rdbuf();
    if (!f.good() && !f.eof()) return Status::Error(path + ": cannot read the manifest");
    Status s = parse_manifest(ss.str(), out);
    if (!s.ok()) return Status::Error(path + ": " + s.message());
    return s;
}

}  // namespace poolgen
