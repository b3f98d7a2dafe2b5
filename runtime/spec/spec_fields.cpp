#include "poolgen/spec_fields.h"

#include <cerrno>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <sstream>

namespace poolgen {

namespace {

// The names of the enums' values: the manifest's words, also used in messages and names.
template <typename E>
struct EnumName {
    E value;
    const char *name;
};
constexpr EnumName<Op> kOpNames[] = {
    {Op::MaxPool, "max_pool"},
    {Op::AvgPool, "avg_pool"},
    {Op::AdaptiveMaxPool, "adaptive_max_pool"},
    {Op::AdaptiveAvgPool, "adaptive_avg_pool"},
    {Op::GlobalMaxPool, "global_max_pool"},
    {Op::GlobalAvgPool, "global_avg_pool"},
    {Op::LpPool, "lp_pool"},
    {Op::GlobalLpPool, "global_lp_pool"},
};
constexpr EnumName<DType> kDTypeNames[] = {
    {DType::F32, "f32"}, {DType::F16, "f16"}, {DType::BF16, "bf16"}, {DType::U8, "u8"}, {DType::I8, "i8"}};
constexpr EnumName<Layout> kLayoutNames[] = {{Layout::NCHW, "nchw"}, {Layout::NHWC, "nhwc"}};
constexpr EnumName<Rules> kRulesNames[] = {{Rules::PyTorch, "pytorch"}, {Rules::ONNX, "onnx"}};
constexpr EnumName<Device> kDeviceNames[] = {{Device::Auto, "auto"}, {Device::CPU, "cpu"}, {Device::CUDA, "cuda"}};

template <typename E, size_t N>
const char *name_of(const EnumName<E> (&table)[N], E value) {
    for (const auto &e : table)
        if (e.value == value) return e.name;
    return "?";
}
template <typename E, size_t N>
std::optional<E> value_of(const EnumName<E> (&table)[N], const std::string &name) {
    for (const auto &e : table)
        if (name == e.name) return e.value;
    return std::nullopt;
}
template <typename E, size_t N>
std::string names_of(const EnumName<E> (&table)[N], const char *sep) {
    std::string s;
    for (const auto &e : table) s += (s.empty() ? "" : sep) + std::string(e.name);
    return s;
}

// A row of the table: the field, the ops that take it, its keys in describe() and in names;
// `edit` sets the rest.
template <typename Edit>
SpecField row(const char *name, SpecMember member, OpSet ops, const char *describe_key, const char *name_key, Edit edit) {
    SpecField f{};
    f.name = f.param = name;
    f.member = member;
    f.ops = f.listed = ops;
    f.describe_key = describe_key;
    f.name_key = name_key;
    edit(f);
    return f;
}
void plain(SpecField &) {}

std::vector<SpecField> make_table() {
    return {
        row("op", &PoolSpec::op, kAllOps, "", "",
            [](SpecField &f) { f.required = true; f.bad_value = "must be one of {}; got "; }),
        row("dtype", &PoolSpec::dtype, kAllOps, " ", "_", [](SpecField &f) { f.bad_value = "must be one of {}, got "; }),
        row("layout", &PoolSpec::layout, kAllOps, " ", "_",
            [](SpecField &f) { f.bad_value = "must be \"nchw\" (channels first) or \"nhwc\" (channels last), got "; }),
        // Shown only when not PyTorch's, so that names and descriptions of PyTorch-rules kernels
        // stay as they were.
        row("rules", &PoolSpec::rules, kAllOps, " rules=", "_",
            [](SpecField &f) {
                f.bad_value = "must be \"pytorch\" or \"onnx\" (whose pooling rules the kernel follows), got ";
                f.hidden = [](const PoolSpec &s) { return s.rules == Rules::PyTorch; };
            }),
        // The input shape closes the canonical name (see canonical_name()).
        row("input", &PoolSpec::input, kAllOps, " in=", "_",
            [](SpecField &f) { f.param = "shape"; f.required = true; f.required_note = " (logical N, C, spatial sizes...)"; }),
        // Read by averages only; every op of an 8-bit type takes it, as every quantized tensor has one.
        row("zero_point", &PoolSpec::zero_point, kAllOps, " zp=", "_zp", [](SpecField &f) { f.null_is_default = true; }),
        row("p", &PoolSpec::p, kLpOps, " lp=", "_lp", [](SpecField &f) { f.null_is_default = true; }),
        row("kernel", &PoolSpec::kernel, kWindowedOps, " k=", "_k", [](SpecField &f) { f.required = f.scalar_ok = true; }),
        // PyTorch: stride=None is the kernel size.
        row("stride", &PoolSpec::stride, kWindowedOps, " s=", "_s", [](SpecField &f) { f.scalar_ok = f.null_is_default = true; }),
        row("padding", &PoolSpec::padding, kWindowedOps, " p=", "_p", [](SpecField &f) { f.scalar_ok = true; }),
        // Empty: the same as padding.
        row("padding_end", &PoolSpec::padding_end, kWindowedOps, " pe=", "_pe",
            [](SpecField &f) {
                f.scalar_ok = f.null_is_default = true;
                f.hidden = [](const PoolSpec &s) { return s.padding_end.empty(); };
            }),
        // avg_pool and lp_pool have no dilation in PyTorch: their names show one only when it is not 1.
        row("dilation", &PoolSpec::dilation, kWindowedOps, " d=", "_d",
            [](SpecField &f) {
                f.scalar_ok = true;
                f.hidden = [](const PoolSpec &s) {
                    const bool no_dilation = s.op == Op::AvgPool || s.op == Op::LpPool;
                    return no_dilation && std::all_of(s.dilation.begin(), s.dilation.end(), [](int64_t d) { return d == 1; });
                };
            }),
        row("ceil_mode", &PoolSpec::ceil_mode, kWindowedOps, " ceil", "_ceil", plain),
        row("count_include_pad", &PoolSpec::count_include_pad, op_bit(Op::AvgPool), " exclude_pad", "_xpad",
            [](SpecField &f) { f.shown_when = false; }),
        row("divisor_override", &PoolSpec::divisor_override, op_bit(Op::AvgPool), " divisor=", "_div",
            [](SpecField &f) { f.null_is_default = true; }),
        row("output_size", &PoolSpec::output_size, kAdaptiveSizedOps, " out_size=", "_o",
            [](SpecField &f) { f.required = f.scalar_ok = f.null_entry_is_input = true; }),
        row("return_indices", &PoolSpec::return_indices, kMaxOps, " indices", "_idx", plain),
        row("storage_order", &PoolSpec::storage_order, kMaxOps, " storage_order=", "_so",
            [](SpecField &f) { f.null_is_default = true; }),
    };
}

bool parse_int(const std::string &text, int64_t *out) {
    if (text.empty()) return false;
    char *end = nullptr;
    errno = 0;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (errno != 0 || *end != '\0') return false;
    *out = v;
    return true;
}

}  // namespace

const std::vector<SpecField> &spec_fields() {
    static const std::vector<SpecField> table = [] {
        std::vector<SpecField> t = make_table();
        if (t.size() != kSpecFieldCount) {  // kSpecFieldCount sizes the generator's parameter array
            std::fprintf(stderr, "poolgen: kSpecFieldCount is %zu, the table has %zu fields\n", kSpecFieldCount, t.size());
            std::abort();
        }
        return t;
    }();
    return table;
}

const SpecField *find_spec_field(const std::string &name) {
    for (const SpecField &f : spec_fields())
        if (name == f.name) return &f;
    return nullptr;
}

const char *to_string(Op op) { return name_of(kOpNames, op); }
const char *to_string(DType dtype) { return name_of(kDTypeNames, dtype); }
const char *to_string(Layout layout) { return name_of(kLayoutNames, layout); }
const char *to_string(Device device) { return name_of(kDeviceNames, device); }
const char *to_string(Rules rules) { return name_of(kRulesNames, rules); }
std::optional<Op> parse_op(const std::string &s) { return value_of(kOpNames, s); }
std::optional<DType> parse_dtype(const std::string &s) { return value_of(kDTypeNames, s); }
std::optional<Layout> parse_layout(const std::string &s) { return value_of(kLayoutNames, s); }
std::optional<Device> parse_device(const std::string &s) { return value_of(kDeviceNames, s); }
std::optional<Rules> parse_rules(const std::string &s) { return value_of(kRulesNames, s); }
std::string op_names(const char *sep) { return names_of(kOpNames, sep); }
std::string dtype_names(const char *sep) { return names_of(kDTypeNames, sep); }

std::string field_text(const PoolSpec &s, const SpecField &f) {
    return std::visit(FieldVisitor{[&](Op PoolSpec::*m) -> std::string { return to_string(s.*m); },
                              [&](DType PoolSpec::*m) -> std::string { return to_string(s.*m); },
                              [&](Layout PoolSpec::*m) -> std::string { return to_string(s.*m); },
                              [&](Rules PoolSpec::*m) -> std::string { return to_string(s.*m); },
                              [&](std::vector<int64_t> PoolSpec::*m) { return join_dims(s.*m, "x"); },
                              [&](bool PoolSpec::*m) -> std::string { return s.*m ? "true" : "false"; },
                              [&](std::optional<int64_t> PoolSpec::*m) {
                                  return (s.*m) ? std::to_string(*(s.*m)) : std::string();
                              }},
                      f.member);
}

Status set_field_text(PoolSpec *s, const SpecField &f, const std::string &text) {
    if (text.empty()) return Status::Ok();
    auto bad = [&] { return Status::Error(std::string("field '") + f.name + "': cannot read '" + text + "'"); };
    auto set_enum = [&](auto PoolSpec::*m, auto parsed) {
        if (!parsed) return bad();
        s->*m = *parsed;
        return Status::Ok();
    };
    return std::visit(FieldVisitor{[&](Op PoolSpec::*m) { return set_enum(m, parse_op(text)); },
                              [&](DType PoolSpec::*m) { return set_enum(m, parse_dtype(text)); },
                              [&](Layout PoolSpec::*m) { return set_enum(m, parse_layout(text)); },
                              [&](Rules PoolSpec::*m) { return set_enum(m, parse_rules(text)); },
                              [&](std::vector<int64_t> PoolSpec::*m) {
                                  std::vector<int64_t> v;
                                  std::stringstream ss(text);
                                  std::string item;
                                  while (std::getline(ss, item, 'x')) {
                                      int64_t x = 0;
                                      if (!parse_int(item, &x)) return bad();
                                      v.push_back(x);
                                  }
                                  s->*m = v;
                                  return Status::Ok();
                              },
                              [&](bool PoolSpec::*m) {
                                  if (text != "true" && text != "false") return bad();
                                  s->*m = text == "true";
                                  return Status::Ok();
                              },
                              [&](std::optional<int64_t> PoolSpec::*m) {
                                  int64_t x = 0;
                                  if (!parse_int(text, &x)) return bad();
                                  s->*m = x;
                                  return Status::Ok();
                              }},
                      f.member);
}

std::string field_json(const PoolSpec &s, const SpecField &f) {
    return std::visit(FieldVisitor{[&](std::vector<int64_t> PoolSpec::*m) { return "[" + join_dims(s.*m, ", ") + "]"; },
                              [&](bool PoolSpec::*m) -> std::string { return s.*m ? "true" : "false"; },
                              [&](std::optional<int64_t> PoolSpec::*m) {
                                  return (s.*m) ? std::to_string(*(s.*m)) : std::string("null");
                              },
                              [&](auto) { return "\"" + field_text(s, f) + "\""; }},  // enum names need no escaping
                      f.member);
}

bool field_equal(const PoolSpec &a, const PoolSpec &b, const SpecField &f) {
    return std::visit([&](auto m) { return a.*m == b.*m; }, f.member);
}

std::vector<std::string> spec_words(const PoolSpec &s) {
    std::vector<std::string> words;
    // An empty value is the field's default (and Halide refuses "name=" on its command line).
    for (const SpecField &f : spec_fields())
        if (const std::string text = field_text(s, f); !text.empty()) words.push_back(std::string(f.param) + "=" + text);
    return words;
}

Status spec_from_words(const std::vector<std::string> &words, PoolSpec *out) {
    PoolSpec s;
    for (const std::string &w : words) {
        const size_t eq = w.find('=');
        const std::string param = w.substr(0, eq);
        const SpecField *f = nullptr;
        for (const SpecField &c : spec_fields())
            if (param == c.param) f = &c;
        if (eq == std::string::npos || !f) return Status::Error("'" + w + "' is not param=value of a spec field");
        if (Status st = set_field_text(&s, *f, w.substr(eq + 1)); !st.ok()) return st;
    }
    *out = s;
    return Status::Ok();
}

PoolSpec registry_spec(const std::vector<std::string> &words) {
    PoolSpec s;
    if (Status st = spec_from_words(words, &s); !st.ok()) {
        std::fprintf(stderr, "poolgen: malformed generated registry entry: %s\n", st.message().c_str());
        std::abort();
    }
    return s;
}

std::string PoolSpec::describe() const {
    std::string d;
    for (const SpecField &f : spec_fields()) {
        if (!takes(f, op) || (f.hidden && f.hidden(*this))) continue;
        const bool is_flag = std::holds_alternative<bool PoolSpec::*>(f.member);
        const std::string text = field_text(*this, f);
        if (is_flag) {
            if ((text == "true") == f.shown_when) d += f.describe_key;
        } else if (!text.empty() || !std::holds_alternative<std::optional<int64_t> PoolSpec::*>(f.member)) {
            d += f.describe_key + text;  // dims always, as given; an absent integer not at all
        }
    }
    return d + " -> " + join_dims(output_shape(), "x");
}

std::string PoolSpec::canonical_name() const {
    std::string n;
    for (const SpecField &f : spec_fields()) {
        if (!takes(f, op) || f.member == SpecMember(&PoolSpec::input) || (f.hidden && f.hidden(*this))) continue;
        const std::string text = field_text(*this, f);
        if (std::holds_alternative<bool PoolSpec::*>(f.member)) {
            if ((text == "true") == f.shown_when) n += f.name_key;
        } else if (std::holds_alternative<std::optional<int64_t> PoolSpec::*>(f.member)) {
            // A name holds no '-': negative values are written m<magnitude>.
            if (!text.empty()) n += f.name_key + (text[0] == '-' ? "m" + text.substr(1) : text);
        } else {
            n += f.name_key + text;
        }
    }
    return n + "_" + join_dims(input, "x");
}

bool PoolSpec::operator==(const PoolSpec &o) const {
    for (const SpecField &f : spec_fields())
        if (!field_equal(*this, o, f)) return false;
    return true;
}

}  // namespace poolgen
