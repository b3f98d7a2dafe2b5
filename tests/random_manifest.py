#!/usr/bin/env python3
"""Writes a manifest v1 of random VALID pooling kernels, so that a separate build covers
shapes nobody chose:

    python3 tests/random_manifest.py --seed 7 --count 40 --out random.json
    make build MANIFEST=random.json BUILD=build-random && build-random/poolgen check

About a third of the kernels are f16 or bf16 (`dtype`), a sixth u8 or i8 (with a `zero_point`
mostly), the rest f32 (the field written or left to its default); none follows "rules": "onnx",
whose kernels must stay f32.

The rules are PyTorch's, written here from docs/semantics.md (output size, padding, adaptive windows) and
independently of runtime/src/spec.cpp, so the test suite also uses this script to cross-check
the C++ validator (every spec drawn here must be accepted). Standard library only.
"""
import argparse
import json
import random
import sys

OPS = ["max_pool", "avg_pool", "adaptive_max_pool", "adaptive_avg_pool", "global_max_pool", "global_avg_pool"]
MAX_ELEMENTS = 2**31 - 1
NARROW_DTYPES = ["f16", "bf16"]  # kernels under "rules": "onnx" are f32 only
CODE_RANGES = {"u8": (0, 255), "i8": (-128, 127)}  # the 8-bit types' codes (and zero points)


def out_size(n, k, s, p, d, ceil):
    """Output size (docs/semantics.md): floor toward -inf, and the ceil-mode last-window rule."""
    num = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)
    o = num // s + 1  # Python's // floors toward -inf
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def pad_limit(op, rank, k, d, return_indices):
    """Largest padding PyTorch accepts: half the raw kernel (C++ truncating division). Its
    bound on the effective (dilated) kernel is checked too but is never the tighter one."""
    return k // 2


def spatial_sizes(rng, rank):
    top = {1: 64, 2: 40, 3: 12}[rank]
    return [rng.choice([1, 2, 3, rng.randint(1, top), rng.randint(1, top), rng.randint(4, top)]) for _ in range(rank)]


def draw_dtype(rng, entry):
    """f16 or bf16 for about a third of the kernels, never for rules onnx ones; f32 otherwise,
    sometimes written out."""
    u = rng.random()
    if entry.get("rules", "pytorch") != "onnx" and u < 1 / 3:
        entry["dtype"] = rng.choice(NARROW_DTYPES)
    elif entry.get("rules", "pytorch") != "onnx" and u < 1 / 2:
        entry["dtype"] = rng.choice(sorted(CODE_RANGES))
        lo, hi = CODE_RANGES[entry["dtype"]]
        if rng.random() < 0.8:
            entry["zero_point"] = rng.randint(lo, hi)
    elif rng.random() < 0.25:
        entry["dtype"] = "f32"


def draw_kernel(rng, name, op):
    """One random valid kernel entry for `op`, or None when the draw broke a rule (the caller
    draws again, keeping the op so that windowed ops, refused more often, are not crowded out)."""
    rank = rng.choice([1, 2, 2, 2, 3])
    n, c = rng.choice([1, 1, 2, 3]), rng.choice([1, 2, 3, 4, 5, 7, 8, 13, 16, 17, 24, 32, 33])
    sizes = spatial_sizes(rng, rank)
    entry = {"name": name, "op": op, "layout": rng.choice(["nchw", "nhwc"]), "input": [n, c] + sizes,
             "targets": ["cpu"]}
    draw_dtype(rng, entry)
    out = []
    if op in ("max_pool", "avg_pool"):
        avg = op == "avg_pool"
        ri = (not avg) and rng.random() < 0.5
        k = [rng.randint(1, 5) for _ in range(rank)]
        explicit_stride = rng.random() < 0.7
        s = [rng.randint(1, 4) for _ in range(rank)] if explicit_stride else list(k)
        d = [1] * rank if avg else [rng.choice([1, 1, 1, 2, 3]) for _ in range(rank)]
        p = [rng.randint(0, pad_limit(op, rank, k[i], d[i], ri)) for i in range(rank)]
        ceil = rng.random() < 0.4
        if avg and rank == 3 and any(sizes[i] < k[i] for i in range(rank)):
            return None  # avg_pool3d needs every input size >= the kernel
        out = [out_size(sizes[i], k[i], s[i], p[i], d[i], ceil) for i in range(rank)]
        if any(o < 1 for o in out):
            return None
        # Scalars where PyTorch takes them (all dims equal), lists otherwise; defaults omitted.
        def put(key, v, default=None):
            if default is not None and all(x == default for x in v) and rng.random() < 0.5:
                return
            entry[key] = v[0] if len(set(v)) == 1 and rng.random() < 0.5 else v
        put("kernel", k)
        if explicit_stride:
            put("stride", s)
        put("padding", p, 0)
        if not avg:
            put("dilation", d, 1)
        if ceil or rng.random() < 0.3:
            entry["ceil_mode"] = ceil
        if avg:
            if rng.random() < 0.5:
                entry["count_include_pad"] = rng.random() < 0.5
            if rank > 1 and rng.random() < 0.2:
                entry["divisor_override"] = rng.choice([-3, -1, 1, 2, 3, 7])
        elif ri or rng.random() < 0.3:
            entry["return_indices"] = ri
    elif op in ("adaptive_max_pool", "adaptive_avg_pool"):
        out = [rng.choice([1, 2, 3, rng.randint(1, sizes[i] + 3)]) for i in range(rank)]
        entry["output_size"] = out[0] if len(set(out)) == 1 and rng.random() < 0.5 else out
        if op == "adaptive_max_pool" and rng.random() < 0.6:
            entry["return_indices"] = rng.random() < 0.7
    else:
        out = [1] * rank
        if op == "global_max_pool" and rng.random() < 0.6:
            entry["return_indices"] = rng.random() < 0.7
    elements_in = n * c
    elements_out = n * c
    for v in sizes:
        elements_in *= v
    for v in out:
        elements_out *= v
    if elements_in > 300_000 or elements_out > MAX_ELEMENTS:
        return None
    # u8/i8 averages of whole 3D planes must be channels-first (PyTorch's channels-last result
    # depends on the scale).
    if entry.get("dtype") in CODE_RANGES and rank == 3 and op.endswith("avg_pool") and op != "avg_pool" and out == [1] * rank:
        entry["layout"] = "nchw"
    return entry


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--out", default="-", help="output file (default: stdout)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    kernels = []
    weights = {"max_pool": 3, "avg_pool": 3, "adaptive_max_pool": 2, "adaptive_avg_pool": 2,
               "global_max_pool": 1, "global_avg_pool": 1}
    while len(kernels) < args.count:
        op = rng.choices(OPS, weights=[weights[o] for o in OPS])[0]
        k = None
        while k is None:
            k = draw_kernel(rng, "r%d_%03d" % (args.seed, len(kernels)), op)
        kernels.append(k)
    doc = {"version": 1,
           "description": "random valid kernels: tests/random_manifest.py --seed %d --count %d" % (args.seed, args.count),
           "kernels": kernels}
    text = "{\n  \"version\": 1,\n  \"description\": %s,\n  \"kernels\": [\n%s\n  ]\n}\n" % (
        json.dumps(doc["description"]), ",\n".join("    " + json.dumps(k) for k in kernels))
    if args.out == "-":
        sys.stdout.write(text)
    else:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
