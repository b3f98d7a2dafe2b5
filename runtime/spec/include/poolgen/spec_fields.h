// The one table of PoolSpec's fields. Each field is declared once, with its type, the ops
// that take it and how it is read, printed and named; the manifest reader, describe(),
// canonical_name(), operator==, `poolgen list --json`, the generator's parameters and the
// generated registry are all driven by it. A new field is a member of PoolSpec, a row here,
// and its use in the generator and the reference loops.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "poolgen/spec.h"
#include "poolgen/status.h"

namespace poolgen {

// A set of ops, one bit per Op.
using OpSet = unsigned;
constexpr OpSet op_bit(Op op) { return 1u << static_cast<unsigned>(op); }
constexpr OpSet kMaxOps = op_bit(Op::MaxPool) | op_bit(Op::AdaptiveMaxPool) | op_bit(Op::GlobalMaxPool);
constexpr OpSet kWindowedOps = op_bit(Op::MaxPool) | op_bit(Op::AvgPool) | op_bit(Op::LpPool);
constexpr OpSet kLpOps = op_bit(Op::LpPool) | op_bit(Op::GlobalLpPool);
constexpr OpSet kAdaptiveSizedOps = op_bit(Op::AdaptiveMaxPool) | op_bit(Op::AdaptiveAvgPool);
constexpr OpSet kAllOps = kMaxOps | kWindowedOps | kAdaptiveSizedOps | kLpOps | op_bit(Op::GlobalAvgPool);

// Where a field lives in PoolSpec; its alternative is the field's type.
using SpecMember = std::variant<Op PoolSpec::*, DType PoolSpec::*, Layout PoolSpec::*, Rules PoolSpec::*,
                                std::vector<int64_t> PoolSpec::*,                                bool PoolSpec::*, std::optional<int64_t> PoolSpec::*>;

// An overload set, to visit a SpecMember with one lambda per field type.
template <class... F>
struct FieldVisitor : F... {
    using F::operator()...;
};
template <class... F>
FieldVisitor(F...) -> FieldVisitor<F...>;

struct SpecField {
    const char *name;      // manifest key and `list --json` key
    const char *param;     // generator parameter name
    SpecMember member;
    OpSet ops;             // ops whose manifest entries take it, and whose describe() and names show it
    OpSet listed;          // ops whose `poolgen list --json` entries show it

    // Reading a manifest.
    bool required = false;           // must be given (by the ops that take it)
    const char *required_note = "";  // after "is required"; empty: " for <op>"
    bool scalar_ok = false;          // dims: one integer stands for every spatial dim
    bool null_is_default = false;    // null (and, for dims, []) keeps the default
    bool null_entry_is_input = false;  // dims: a list of one entry per spatial dim, null keeps that input size
    const char *bad_value = "";      // enums: the rule for an unknown name ("{}" is the list of names)

    // describe() and canonical_name(): dims and integers print after their key; a flag prints
    // its key when it holds `shown_when`.
    const char *describe_key = "";
    const char *name_key = "";
    bool shown_when = true;
    // describe() and canonical_name() leave the field out where this holds (a default that
    // older names never showed).
    bool (*hidden)(const PoolSpec &) = nullptr;
};

// Every field, in the order the manifest reader checks them and the printers print them.
const std::vector<SpecField> &spec_fields();
constexpr size_t kSpecFieldCount = 18;
const SpecField *find_spec_field(const std::string &name);

inline bool takes(const SpecField &f, Op op) { return (f.ops & op_bit(op)) != 0; }
inline bool listed_for(const SpecField &f, Op op) { return (f.listed & op_bit(op)) != 0; }

// The names of an enum's values, in declaration order ("max_pool, avg_pool, ...").
std::string op_names(const char *sep = ", ");
std::string dtype_names(const char *sep = ", ");

// A field's value as text: an enum's name, dims as "3x3" ("" when empty), "true"/"false",
// an optional integer or "" when absent. `set_field_text` reads the same form back; empty
// text leaves the field as it is.
std::string field_text(const PoolSpec &s, const SpecField &f);
Status set_field_text(PoolSpec *s, const SpecField &f, const std::string &text);
// A field's value as JSON: "name", [3, 3], true, 2 or null.
std::string field_json(const PoolSpec &s, const SpecField &f);
bool field_equal(const PoolSpec &a, const PoolSpec &b, const SpecField &f);

// The whole spec as "param=value" words (every field with a value; the generator's
// parameters), and back.
std::vector<std::string> spec_words(const PoolSpec &s);
Status spec_from_words(const std::vector<std::string> &words, PoolSpec *out);
// For generated registry tables: the spec the words describe; a malformed word is a defect of
// the generated code, reported on stderr before the program aborts.
PoolSpec registry_spec(const std::vector<std::string> &words);

}  // namespace poolgen
