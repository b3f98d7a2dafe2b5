#include "poolgen/manifest.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "poolgen/spec_fields.h"
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

// Keys of a kernel entry that are not spec fields.
const char *const kEntryKeys[] = {"name", "targets", "description"};

// The keys an entry of `op` may have: the entry's own and the spec fields the op takes.
std::set<std::string> allowed_fields(Op op) {
    std::set<std::string> keys(std::begin(kEntryKeys), std::end(kEntryKeys));
    for (const SpecField &f : spec_fields())
        if (takes(f, op)) keys.insert(f.name);
    return keys;
}

std::string join_keys(const std::set<std::string> &s) {
    std::string out;
    for (const auto &k : s) out += (out.empty() ? "" : ", ") + k;
    return out;
}

// An enum field's value: a string that names one of its values.
template <typename E>
E get_enum(const json &v, const SpecField &f, std::optional<E> (*parse)(const std::string &), const std::string &names) {
    if (!v.is_string()) fail(f.name, "must be a string, got " + shown(v));
    const auto e = parse(v.get<std::string>());
    if (!e) {
        std::string rule = f.bad_value;
        const size_t at = rule.find("{}");
        if (at != std::string::npos) rule.replace(at, 2, names);
        fail(f.name, rule + shown(v));
    }
    return *e;
}

// Reads one spec field of a kernel entry into `s`, by the field's rules (spec_fields.h).
void read_field(const json &k, const SpecField &f, PoolSpec &s) {
    if (!k.contains(f.name)) {
        if (f.required)
            fail(f.name, std::string("is required") + (*f.required_note ? f.required_note : " for " + std::string(to_string(s.op))));
        return;
    }
    const json &v = k[f.name];
    const size_t rank = s.input.size() >= 2 ? s.input.size() - 2 : 0;
    const bool dims = std::holds_alternative<std::vector<int64_t> PoolSpec::*>(f.member);
    if (f.null_is_default && (v.is_null() || (dims && v.is_array() && v.empty()))) return;
    std::visit(FieldVisitor{
                   [&](Op PoolSpec::*m) { s.*m = get_enum<Op>(v, f, parse_op, op_names()); },
                   [&](DType PoolSpec::*m) { s.*m = get_enum<DType>(v, f, parse_dtype, dtype_names()); },
                   [&](Layout PoolSpec::*m) { s.*m = get_enum<Layout>(v, f, parse_layout, ""); },
                   [&](Rules PoolSpec::*m) { s.*m = get_enum<Rules>(v, f, parse_rules, ""); },
                   [&](bool PoolSpec::*m) { s.*m = get_bool(v, f.name); },
                   [&](std::optional<int64_t> PoolSpec::*m) { s.*m = get_int(v, f.name); },
                   [&](std::vector<int64_t> PoolSpec::*m) {
                       const std::string per_dim = "must be one integer or a list of " + std::to_string(rank) +
                                                   " (one per spatial dim), got ";
                       std::vector<int64_t> &dst = s.*m;
                       dst.clear();
                       if (f.null_entry_is_input && v.is_array()) {
                           // PyTorch: None in output_size keeps that input size.
                           if (v.size() != rank) fail(f.name, per_dim + shown(v));
                           for (size_t i = 0; i < v.size(); i++)
                               dst.push_back(v[i].is_null() ? s.input[2 + i] : get_int(v[i], f.name));
                           return;
                       }
                       dst = get_dims(v, f.name, f.scalar_ok);
                       if (m == &PoolSpec::input) {  // the input fixes the rank every other field follows
                           if (dst.size() < 3 || dst.size() > 5)
                               fail(f.name, "must list N, C and 1 to 3 spatial sizes (3 to 5 entries), got " + shown(v));
                       } else if (dst.size() != 1 && dst.size() != rank) {
                           fail(f.name, per_dim + shown(v));
                       }
                   }},
               f.member);
}

ManifestKernel parse_kernel(const json &k) {
    ManifestKernel mk;
    if (!k.is_object()) fail("", "each kernel must be a JSON object, got " + std::string(k.type_name()));
    if (!k.contains("name")) fail("name", "is required");
    if (!k["name"].is_string()) fail("name", "must be a string, got " + shown(k["name"]));
    mk.name = k["name"].get<std::string>();
    if (!is_valid_kernel_name(mk.name))
        fail("name", "must be a C identifier of at most 64 characters ([A-Za-z_][A-Za-z0-9_]*), got " + shown(k["name"]));

    // The op decides which other fields an entry may have: read it first.
    PoolSpec &s = mk.spec;
    const SpecField &op_field = spec_fields().front();
    read_field(k, op_field, s);
    const auto allowed = allowed_fields(s.op);
    for (const auto &[key, value] : k.items()) {
        (void)value;
        if (!allowed.count(key))
            fail(printable(key), std::string("is not a field of ") + to_string(s.op) + " (its fields: " + join_keys(allowed) + ")");
    }
    if (k.contains("description") && !k["description"].is_string()) fail("description", "must be a string");
    for (const SpecField &f : spec_fields())
        if (&f != &op_field && takes(f, s.op)) read_field(k, f, s);

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
