#!/usr/bin/env python3
"""Differential check of poolgen against an installed PyTorch (CPU).

  compare_pytorch.py manifest OUT.json [--seed S] [--count N] [--large]
      random manifest entries that this PyTorch accepts with a non-empty output, about a third of
      them f16 or bf16 and a sixth u8 or i8 (PyTorch's quint8/qint8 ops), plus fixed edge cases (windows entirely in padding, 1x1 inputs, adaptive
      up-sizing, ..., a few in f16 and bf16); --large draws bigger tensors (up to 130 channels,
      45x45, 14^3, 300 long)
  compare_pytorch.py values MANIFEST POOLGEN [--seed S]
      every kernel of MANIFEST run with `POOLGEN run` on adversarial inputs of its dtype and
      compared bit for bit (uint32 or uint16 view) with PyTorch run in that dtype, indices
      exactly; nhwc kernels against PyTorch's channels_last / channels_last_3d tensors. Averages
      whose output is all ones are computed by PyTorch with mean() (an order of its own): those
      must be within the documented bound. f16/bf16: a NaN matches any NaN (PyTorch's code paths
      differ in the payload); PyTorch's CPU has no f16/bf16 avg_pool3d, hence no lp_pool3d, so
      those are compared with its float32 result rounded to the type, within the bound. u8/i8:
      the codes of PyTorch's quantized op (per-tensor, the kernel's zero point), exactly.
  compare_pytorch.py validate POOLGEN [--seed S] [--count N]
      random, mostly invalid parameter sets: `POOLGEN validate` must accept exactly what PyTorch
      accepts, and name the field PyTorch's message is about; then unknown dtypes, and f16/bf16
      under "rules": "onnx", must be refused naming 'dtype'; u8/i8 draws are checked against
      PyTorch's float ops (poolgen's parameter rules are the same for every dtype; PyTorch's
      quantized kernels skip some checks), and a zero point out of range or on a float kernel, and
      Lp pooling in u8/i8, must be refused naming their field.

Exit status 1 on any disagreement. Not part of `make test` (PyTorch is a large download):
`make test-pytorch TORCH_PYTHON=/path/to/python` runs all three.
"""
import argparse
import collections
import json
import os
import random
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch
import torch.nn.functional as F

# The memory-order permutation and PyTorch's layout of a tensor, as the bench anchor uses them
# (they read only "layout" and "input", which a manifest entry has).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
from torch_cuda_anchor import in_layout, memory_order  # noqa: E402

warnings.filterwarnings("ignore")
torch.set_num_threads(1)

OPS = ["max_pool", "avg_pool", "adaptive_max_pool", "adaptive_avg_pool", "global_max_pool", "global_avg_pool", "lp_pool",
       "global_lp_pool"]
WINDOWED = ("max_pool", "avg_pool", "lp_pool")

# Element types: PyTorch's, the type's machine epsilon and smallest positive value (the
# runtime's dtype_epsilon and the reference's smallest_step), and its largest finite value.
DTYPES = ["f32", "f16", "bf16", "u8", "i8"]
NARROW = ["f16", "bf16"]  # never under "rules": "onnx" (f32 only)
# u8/i8: PyTorch's quantized tensor type, its integer type and the codes' range.
QUANTIZED = {"u8": (torch.quint8, torch.uint8, 0, 255), "i8": (torch.qint8, torch.int8, -128, 127)}
# The ops PyTorch has for quantized tensors (no indices, no adaptive max, no Lp pooling).
QUANTIZED_OPS = ("max_pool", "avg_pool", "adaptive_avg_pool", "global_avg_pool")
TORCH_DTYPE = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
EPS = {"f32": 2.0 ** -23, "f16": 2.0 ** -10, "bf16": 2.0 ** -7}
TINY = {"f32": 2.0 ** -149, "f16": 2.0 ** -24, "bf16": 2.0 ** -149}
MAX = {t: float(torch.finfo(TORCH_DTYPE[t]).max) for t in ["f32", "f16", "bf16"]}


def dtype_of(e):
    return e.get("dtype", "f32")


def draw_dtype(rng, e):
    """f16 or bf16 for about a third of the kernels, never under rules onnx; u8 or i8 for about
    a sixth of those PyTorch has in quantized form, with a zero point (mostly); f32 otherwise,
    sometimes written out."""
    u = rng.random()
    if e.get("rules", "pytorch") != "onnx" and u < 1 / 3:
        e["dtype"] = rng.choice(NARROW)
    elif e.get("rules", "pytorch") != "onnx" and e["op"] in QUANTIZED_OPS and u < 1 / 2:
        e["dtype"] = rng.choice(list(QUANTIZED))
        _, _, lo, hi = QUANTIZED[e["dtype"]]
        if rng.random() < 0.8:
            e["zero_point"] = rng.choice([lo, hi, 0, 1, 3, rng.randint(lo, hi)])
    elif rng.random() < 0.25:
        e["dtype"] = "f32"


def quantized_fixups(e):
    """A u8/i8 entry made one PyTorch computes as poolgen means it: no indices (PyTorch has none
    for quantized tensors), and 3D whole-plane averages channels-first (poolgen refuses the
    channels-last ones: PyTorch computes them from dequantized floats)."""
    if dtype_of(e) not in QUANTIZED:
        return
    e.pop("return_indices", None)
    if e["op"] in ("adaptive_avg_pool", "global_avg_pool") and len(e["input"]) == 5 and e["layout"] == "nhwc":
        e["layout"] = "nchw"


def pytorch_misplaces(e, out_shape):
    """PyTorch's quantized kernels write a channels-last result into a contiguous output when the
    input plane is a single element and C > 1 (the tensor counts as channels-last contiguous),
    which scrambles an output plane of more than one element (docs/semantics.md, "Eight-bit
    codes"). Such kernels are left out of the value comparison."""
    return (dtype_of(e) in QUANTIZED and e["input"][1] > 1 and all(v == 1 for v in e["input"][2:])
            and any(v != 1 for v in out_shape[2:]))


def torch_zeros(e):
    """A zero input of the entry's type and shape, as PyTorch's op receives it."""
    dt = dtype_of(e)
    if dt in QUANTIZED:
        qdt, _, _, _ = QUANTIZED[dt]
        return in_layout(torch, torch.quantize_per_tensor(torch.zeros(e["input"]), 0.1, e.get("zero_point", 0), qdt), e)
    return torch.zeros(e["input"])


# ---- Random specs and the PyTorch call each one means.

def rand_spec(rng, op=None, invalid=False, large=False):
    """large: sizes that reach the kernels' vector tails, interiors and parallel tasks."""
    op = op or rng.choice(OPS)
    r = rng.choice([1, 2, 3])
    if large:
        sp = [rng.randint(n // 4, n) for n in [{1: 300, 2: 45, 3: 14}[r]] * r]
        channels = rng.choice([16, 24, 33, 64, 67, 130])
    else:
        maxn = {1: 20, 2: 11, 3: 6}[r]
        sp = [rng.choice([1, 1, 2, 3] + list(range(1, maxn + 1))) for _ in range(r)]
        channels = rng.choice([1, 2, 3, 5, 8, 17])
    e = {"op": op, "layout": rng.choice(["nchw", "nhwc"]),
         "input": [rng.choice([1, 1, 2]), channels] + sp, "targets": ["cpu"]}
    draw_dtype(rng, e)
    if op in ("lp_pool", "global_lp_pool"):
        e["p"] = rng.choice([1, 2, 2, 3, 4] + ([0] if invalid else []))
    if op in WINDOWED:
        k = [rng.randint(-1 if invalid and rng.random() < 0.1 else 1, min(6, n + 3)) for n in sp]
        s = [rng.randint(rng.choice([-1, 0]) if invalid and rng.random() < 0.2 else 1, 4) for _ in sp]
        p = [rng.randint(-1 if invalid and rng.random() < 0.1 else 0, max(0, kk // 2 + (2 if invalid else 0))) for kk in k]
        e["kernel"] = k if rng.random() < 0.8 or len(set(k)) > 1 else k[0]
        if rng.random() < 0.85:
            e["stride"] = s
        if op == "lp_pool":  # PyTorch's LPPool has no padding
            p = [0] * r
        if rng.random() < 0.8 or any(p):
            e["padding"] = p
        e["ceil_mode"] = rng.random() < 0.5
        if op == "max_pool":
            e["dilation"] = [rng.choice([1, 1, 2, 3] + ([0, -1] if invalid and rng.random() < 0.2 else [])) for _ in sp]
            e["return_indices"] = rng.random() < 0.5
        elif op == "avg_pool":
            e["count_include_pad"] = rng.random() < 0.5
            if r >= 2 and rng.random() < 0.35:
                e["divisor_override"] = rng.choice([1, 2, 3, 7, -1, -2, -5] + ([0] if invalid else []))
    elif op.startswith("adaptive"):
        e["output_size"] = [rng.choice([1, 2, 3, max(1, n // 2), n, n + 1, 2 * n + 1] + ([0, -1] if invalid else [])) for n in sp]
        if op == "adaptive_max_pool":
            e["return_indices"] = rng.random() < 0.5
    elif op == "global_max_pool":
        e["return_indices"] = rng.random() < 0.5
    quantized_fixups(e)
    return e


# Cases random draws rarely reach.
EDGE_CASES = [
    {"op": "max_pool", "layout": "nchw", "input": [1, 2, 3, 3], "kernel": 2, "stride": 1, "padding": 1, "dilation": 4, "return_indices": True},
    {"op": "max_pool", "layout": "nhwc", "input": [1, 2, 3, 3], "kernel": 2, "stride": 1, "padding": 1, "dilation": 4, "return_indices": True},
    {"op": "max_pool", "layout": "nhwc", "input": [1, 3, 3, 3, 3], "kernel": 2, "stride": 1, "padding": 1, "dilation": 3, "return_indices": True},
    {"op": "max_pool", "layout": "nchw", "input": [1, 3, 9, 9], "kernel": 3, "stride": 1, "padding": 1, "dilation": 2, "return_indices": True},
    {"op": "max_pool", "layout": "nchw", "input": [1, 1, 2, 2], "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"op": "avg_pool", "layout": "nhwc", "input": [1, 3, 1, 1], "kernel": 1, "divisor_override": -5},
    {"op": "avg_pool", "layout": "nhwc", "input": [1, 1, 4, 4], "kernel": 2, "divisor_override": -5},
    {"op": "avg_pool", "layout": "nhwc", "input": [1, 3, 4, 4, 4], "kernel": 2, "divisor_override": -5},
    {"op": "avg_pool", "layout": "nchw", "input": [2, 3, 7, 5], "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
    {"op": "adaptive_avg_pool", "layout": "nhwc", "input": [1, 5, 3, 3], "output_size": [5, 7]},
    {"op": "adaptive_max_pool", "layout": "nhwc", "input": [1, 5, 1, 1, 1], "output_size": [2, 3, 1], "return_indices": True},
    {"op": "global_avg_pool", "layout": "nhwc", "input": [2, 17, 3], },
    # f16/bf16: -0 quotients per layout, indices of windows with no tap taken, 3D adaptive sums
    # in the element type, whole-plane means, and the 3D ops PyTorch's CPU lacks in the type.
    {"op": "avg_pool", "dtype": "f16", "layout": "nhwc", "input": [1, 3, 4, 4], "kernel": 2, "divisor_override": -5},
    {"op": "avg_pool", "dtype": "bf16", "layout": "nchw", "input": [1, 3, 4, 4], "kernel": 2, "divisor_override": -5},
    {"op": "max_pool", "dtype": "bf16", "layout": "nhwc", "input": [1, 3, 3, 3, 3], "kernel": 2, "stride": 1, "padding": 1, "dilation": 3, "return_indices": True},
    {"op": "adaptive_avg_pool", "dtype": "f16", "layout": "nhwc", "input": [1, 5, 3, 4, 5], "output_size": [2, 3, 2]},
    {"op": "adaptive_avg_pool", "dtype": "bf16", "layout": "nchw", "input": [2, 3, 5, 3, 7], "output_size": [3, 2, 4]},
    {"op": "global_avg_pool", "dtype": "bf16", "layout": "nhwc", "input": [2, 17, 5, 3], },
    {"op": "avg_pool", "dtype": "f16", "layout": "nhwc", "input": [1, 3, 4, 5, 4], "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
    {"op": "lp_pool", "dtype": "bf16", "layout": "nchw", "input": [1, 2, 4, 5, 4], "p": 3, "kernel": 2, "stride": 2, "ceil_mode": True},
    # u8/i8: ties with an odd zero point in both kernels, C == 1 and 1x1 planes (PyTorch's
    # channels-last kernel on contiguous tensors), negative divisors, saturation, whole planes.
    {"op": "avg_pool", "dtype": "u8", "zero_point": 3, "layout": "nchw", "input": [1, 2, 2, 3], "kernel": 2, "stride": 1, "padding": 1, "count_include_pad": False},
    {"op": "avg_pool", "dtype": "u8", "zero_point": 3, "layout": "nhwc", "input": [1, 2, 2, 3], "kernel": 2, "stride": 1, "padding": 1, "count_include_pad": False},
    {"op": "avg_pool", "dtype": "i8", "zero_point": -7, "layout": "nchw", "input": [2, 1, 5, 6], "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
    {"op": "avg_pool", "dtype": "i8", "zero_point": 127, "layout": "nchw", "input": [1, 3, 4, 4], "kernel": 2, "divisor_override": -1},
    {"op": "avg_pool", "dtype": "u8", "zero_point": 1, "layout": "nchw", "input": [1, 5, 1, 1], "kernel": 1},
    {"op": "adaptive_avg_pool", "dtype": "u8", "layout": "nchw", "input": [1, 3, 7, 10], "output_size": 1},
    {"op": "adaptive_avg_pool", "dtype": "u8", "layout": "nhwc", "input": [1, 3, 7, 10], "output_size": 1},
    {"op": "adaptive_avg_pool", "dtype": "i8", "zero_point": 5, "layout": "nchw", "input": [1, 1, 7, 9], "output_size": [3, 4]},
    {"op": "global_avg_pool", "dtype": "i8", "zero_point": -100, "layout": "nchw", "input": [2, 3, 3, 4, 5]},
    {"op": "adaptive_avg_pool", "dtype": "u8", "zero_point": 9, "layout": "nhwc", "input": [1, 5, 3, 4, 5], "output_size": [2, 3, 2]},
    {"op": "max_pool", "dtype": "i8", "layout": "nhwc", "input": [1, 3, 3, 3, 3], "kernel": 2, "stride": 1, "padding": 1, "dilation": 3},
]


def normalized(e):
    """The entry with every default filled in, one value per spatial dim."""
    r = len(e["input"]) - 2
    f = dict(e)

    def per_dim(v, default):
        if v is None or v == []:
            return [default] * r
        return [v] * r if isinstance(v, int) else list(v)
    if e["op"] in WINDOWED:
        f["kernel"] = per_dim(e["kernel"], None)
        f["stride"] = per_dim(e.get("stride"), None)
        if None in f["stride"]:
            f["stride"] = list(f["kernel"])
        f["padding"] = per_dim(e.get("padding"), 0)
        f["dilation"] = per_dim(e.get("dilation"), 1)
    elif e["op"].startswith("adaptive"):
        f["output_size"] = per_dim(e["output_size"], None)
    else:
        f["output_size"] = [1] * r
    return f


def torch_call(e, x):
    """PyTorch's op on x (already in the entry's memory format): (output, indices or None)."""
    f = normalized(e)
    r = len(e["input"]) - 2
    op, ri = e["op"], bool(e.get("return_indices", False))
    if op == "max_pool":
        res = getattr(F, f"max_pool{r}d")(x, f["kernel"], f["stride"], f["padding"], f["dilation"],
                                          ceil_mode=e.get("ceil_mode", False), return_indices=ri)
    elif op == "avg_pool":
        kw = dict(ceil_mode=e.get("ceil_mode", False), count_include_pad=e.get("count_include_pad", True))
        if e.get("divisor_override") is not None:
            if r == 1:
                raise TypeError("avg_pool1d() got an unexpected keyword argument 'divisor_override'")
            kw["divisor_override"] = e["divisor_override"]
        res = getattr(F, f"avg_pool{r}d")(x, f["kernel"], f["stride"], f["padding"], **kw)
    elif op in ("adaptive_avg_pool", "global_avg_pool"):
        res = getattr(F, f"adaptive_avg_pool{r}d")(x, f["output_size"])
    elif op in ("lp_pool", "global_lp_pool"):
        # PyTorch has no global Lp pool: it is lp_pool with the whole plane as the kernel.
        kernel = f["kernel"] if op == "lp_pool" else e["input"][2:]
        stride = f["stride"] if op == "lp_pool" else kernel
        if r == 1:
            kernel, stride = kernel[0], stride[0]
        res = getattr(F, f"lp_pool{r}d")(x, e.get("p", 2), kernel, stride, ceil_mode=e.get("ceil_mode", False))
    else:
        res = getattr(F, f"adaptive_max_pool{r}d")(x, f["output_size"], return_indices=ri)
    return (res[0], res[1]) if ri else (res, None)


# ---- manifest

def cmd_manifest(a):
    rng = random.Random(a.seed)
    weights = {"max_pool": 4, "avg_pool": 4, "adaptive_max_pool": 2, "adaptive_avg_pool": 2,
               "global_max_pool": 1, "global_avg_pool": 1, "lp_pool": 2, "global_lp_pool": 1}
    ops = [o for o, w in weights.items() for _ in range(w)]
    kernels = [dict(e, targets=["cpu"]) for e in EDGE_CASES]
    while len(kernels) < a.count + len(EDGE_CASES):
        e = rand_spec(rng, op=rng.choice(ops), large=a.large)
        try:
            out, _ = torch_call(e, torch_zeros(e))
            if dtype_of(e) in QUANTIZED:  # poolgen's parameter rules are PyTorch's float ones
                torch_call(e, torch.zeros(e["input"]))
        except Exception:
            continue
        if out.numel() > 0 and not pytorch_misplaces(e, list(out.shape)):
            kernels.append(e)
    kernels = [{"name": f"k{i}", **e} for i, e in enumerate(kernels)]
    with open(a.out, "w") as fh:
        json.dump({"version": 1, "kernels": kernels}, fh, indent=1)
    print(f"{a.out}: {len(kernels)} kernels (seed {a.seed}, {len(EDGE_CASES)} fixed edge cases)")
    return 0


# ---- values

def f32(bits):
    return np.array(bits, dtype=np.uint32).view(np.float32)


SPECIAL_BITS = [0x7fc00000, 0xffc00000, 0x7fc12345, 0x7f800001, 0xff812345, 0x7fffffff, 0x7f800000, 0xff800000,
                0x80000000, 0x00000000, 0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x7f7fffff, 0xff7fffff,
                0x4b800001, 0xcb800001]


# The same kinds of values as bits of f16 and bf16: quiet and signalling NaNs with payloads,
# +-inf, +-0, the smallest and largest denormals, +-the largest finite value, +-(2^(m+1) + 2) for
# m mantissa bits (0x4b800001's counterpart); large values (the largest finite, its negation, the
# largest power of two, 2^(m+1) + 2); NaNs with payloads; the denormals' mantissa range; and the
# decimal exponents of wide_range.
SPECIAL_BITS_16 = {
    "f16": [0x7e00, 0xfe00, 0x7e45, 0x7c01, 0xfc45, 0x7fff, 0x7c00, 0xfc00, 0x8000, 0x0000, 0x0001, 0x8001, 0x03ff, 0x83ff,
            0x7bff, 0xfbff, 0x6801, 0xe801],
    "bf16": [0x7fc0, 0xffc0, 0x7fc5, 0x7f81, 0xff85, 0x7fff, 0x7f80, 0xff80, 0x8000, 0x0000, 0x0001, 0x8001, 0x007f, 0x807f,
             0x7f7f, 0xff7f, 0x4381, 0xc381]}
LARGE_BITS_16 = {"f16": [0x7bff, 0xfbff, 0x7800, 0x6801], "bf16": [0x7f7f, 0xff7f, 0x7f00, 0x4381]}
NAN_BITS_16 = {"f16": [0x7e01, 0xfe02, 0x7e03, 0x7c04], "bf16": [0x7fc1, 0xffc2, 0x7fc3, 0x7f84]}
NEG_INF_BITS_16 = {"f16": 0xfc00, "bf16": 0xff80}
DENORMAL_MANTISSAS = {"f16": 0x400, "bf16": 0x80}
WIDE_EXPONENTS = {"f16": (-6, 5), "bf16": (-20, 21)}


# Arrays in the form `poolgen run` reads and writes: float32 (<f4), float16 (<f2), and bf16's
# bits as uint16 (<u2).

def from_bits16(bits, dt):
    b = np.asarray(bits, dtype=np.uint16)
    return b.view(np.float16) if dt == "f16" else b


def bits_of(a):
    if a.dtype.itemsize == 1:
        return a.view(np.uint8)
    return a.view(np.uint32) if a.dtype == np.float32 else a.view(np.uint16)


def to_tensor(a, dt, zero_point=0):
    if dt in QUANTIZED:  # the codes of a per-tensor quantized tensor (the scale never matters)
        return torch._make_per_tensor_quantized_tensor(torch.from_numpy(np.ascontiguousarray(a).copy()), 0.1, zero_point)
    t = torch.from_numpy(np.ascontiguousarray(a).copy())
    return t.view(torch.int16).view(torch.bfloat16) if dt == "bf16" else t


def from_tensor(t, dt):
    if dt in QUANTIZED:
        return t.int_repr().contiguous().numpy()
    t = t.contiguous()
    return t.view(torch.int16).numpy().view(np.uint16) if dt == "bf16" else t.numpy()


def widened(a, dt):
    """The values as float64 (exact)."""
    if dt == "bf16":
        return (np.ascontiguousarray(a).astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return a.astype(np.float64)


def adversarial_inputs_8(rng, shape, dt, zero_point):
    """u8/i8 codes: uniform over the range, only the two extremes (saturation), near the zero
    point, and two neighbouring codes (averages that end in .5: ties)."""
    _, itype, lo, hi = QUANTIZED[dt]
    npt = np.uint8 if dt == "u8" else np.int8
    n = int(np.prod(shape))
    z = zero_point
    out = {"uniform": rng.integers(lo, hi + 1, n),
           "extremes": rng.choice([lo, hi], n),
           "near_zero_point": np.clip(z + rng.integers(-3, 4, n), lo, hi),
           "ties": np.clip(z + rng.integers(0, 2, n) + (rng.random() < 0.5), lo, hi)}
    return {k: v.astype(npt).reshape(shape) for k, v in out.items()}


def adversarial_inputs(rng, shape, dt="f32", zero_point=0):
    if dt in QUANTIZED:
        return adversarial_inputs_8(rng, shape, dt, zero_point)
    if dt != "f32":
        return adversarial_inputs_16(rng, shape, dt)
    n = int(np.prod(shape))
    out = {"ties": (rng.integers(-3, 4, n) / 2).astype(np.float32)}
    t = out["ties"].copy()
    t[rng.random(n) < 0.2] = -0.0
    out["ties_negzero"] = t
    sp = (rng.integers(-3, 4, n) / 4).astype(np.float32)
    m = rng.random(n) < 0.3
    sp[m] = f32(rng.choice(SPECIAL_BITS, m.sum()))
    out["specials"] = sp
    out["wide_range"] = (rng.standard_normal(n) * 10.0 ** rng.integers(-3, 8, n)).astype(np.float32)
    big = rng.choice(f32([0x7f7fffff, 0xff7fffff, 0x7f000000, 0x4b800001]), n) * rng.choice([1, -1, 0.5], n)
    out["large"] = big.astype(np.float32)
    out["denormal"] = f32(rng.integers(0, 0x00800000, n, dtype=np.uint32) | (rng.integers(0, 2, n, dtype=np.uint32) << 31))
    out["tiny_negative"] = f32(np.full(n, 0x80000001, dtype=np.uint32))
    out["all_neg_inf"] = np.full(n, -np.inf, dtype=np.float32)
    nan = np.full(n, 1.0, dtype=np.float32)
    m = rng.random(n) < 0.4
    nan[m] = f32(rng.choice([0x7fc00001, 0xffc00002, 0x7fc00003, 0x7f800004], m.sum()))
    out["nan_payloads"] = nan
    return {k: v.reshape(shape) for k, v in out.items()}


def adversarial_inputs_16(rng, shape, dt):
    """The nine kinds of adversarial_inputs in f16 or bf16 (the same names, the type's own
    specials); values drawn as float32 are rounded to the type by PyTorch (nearest even)."""
    n = int(np.prod(shape))

    def rounded(v):  # as bits
        return torch.from_numpy(np.asarray(v, dtype=np.float32)).to(TORCH_DTYPE[dt]).view(torch.int16).numpy().view(np.uint16)
    out = {"ties": rounded(rng.integers(-3, 4, n) / 2)}
    t = out["ties"].copy()
    t[rng.random(n) < 0.2] = 0x8000
    out["ties_negzero"] = t
    sp = rounded(rng.integers(-3, 4, n) / 4)
    m = rng.random(n) < 0.3
    sp[m] = rng.choice(SPECIAL_BITS_16[dt], m.sum())
    out["specials"] = sp
    lo, hi = WIDE_EXPONENTS[dt]
    out["wide_range"] = rounded(rng.standard_normal(n) * 10.0 ** rng.integers(lo, hi, n))
    big = widened(from_bits16(rng.choice(LARGE_BITS_16[dt], n), dt), dt) * rng.choice([1, -1, 0.5], n)
    out["large"] = rounded(big)
    out["denormal"] = (rng.integers(0, DENORMAL_MANTISSAS[dt], n) | (rng.integers(0, 2, n) << 15)).astype(np.uint16)
    out["tiny_negative"] = np.full(n, 0x8001, dtype=np.uint16)
    out["all_neg_inf"] = np.full(n, NEG_INF_BITS_16[dt], dtype=np.uint16)
    nan = rounded(np.ones(n))
    m = rng.random(n) < 0.4
    nan[m] = rng.choice(NAN_BITS_16[dt], m.sum())
    out["nan_payloads"] = nan
    return {k: from_bits16(v, dt).reshape(shape) for k, v in out.items()}


def torch_lacks_type(e):
    """PyTorch's CPU has no f16/bf16 avg_pool3d (NotImplementedError "avg_pool3d_out_frame"),
    hence no lp_pool3d (an avg_pool3d of x^p) either: for those kernels in f16/bf16 the
    comparison is with PyTorch's float32 result on the same (widened) input, rounded to the type
    by .to(dtype), within the bound of averages and Lp pools in the type, not bit for bit."""
    return dtype_of(e) in NARROW and len(e["input"]) == 5 and e["op"] in ("avg_pool", "lp_pool", "global_lp_pool")


def pytorch_3d_channel_tail_index(e, ours, oi, ti):
    """Where PyTorch's channels-last max_pool3d leaves d*H*W out of the index of a window with no
    tap taken: in its scalar loop over the channels after its last full vector (docs/semantics.md,
    Semantics). Tail channels for any vector width up to 16 elements (torch 2.15 on x86: 8 floats,
    16 halves in f16 and bf16); memory-order arrays."""
    if e["op"] != "max_pool" or e["layout"] != "nhwc" or len(e["input"]) != 5:
        return np.zeros(oi.shape, dtype=bool)
    channels, plane = e["input"][1], e["input"][3] * e["input"][4]
    tail = np.arange(channels) >= channels - channels % 16
    depth_term = oi - ti
    return (depth_term > 0) & (depth_term % plane == 0) & np.isneginf(ours) & tail


def whole_plane_average(e):
    return e["op"] in ("global_avg_pool", "adaptive_avg_pool") and all(v == 1 for v in normalized(e)["output_size"])


def narrow_term(mean_size, taps, dt):
    """reference::error_bounds in f16/bf16: two results within the float32 bound b32, each rounded
    to the type, differ by at most b32 plus one ulp of the type at their size (the type's epsilon
    times sum|x| / |divisor|), or its smallest step near zero. 0 for f32."""
    if dt == "f32":
        return 0.0
    return EPS[dt] * mean_size * (1.0 + (taps + 1.0) * 2.0 ** -23) + TINY[dt]


def avg_3d_bound(e, x):
    """avg_pool3d in f16/bf16 against PyTorch's float32 result rounded to the type (x: logical,
    float64): reference::error_bounds' bound, (taps+1) eps32 sum|x| / |divisor| plus the type's
    term, with PyTorch's own divisor (divisor_override, count_include_pad, clipped windows)."""
    f = normalized(e)
    kw = dict(ceil_mode=e.get("ceil_mode", False), count_include_pad=e.get("count_include_pad", True))
    t = torch.from_numpy(x)
    mean_size = F.avg_pool3d(t.abs(), f["kernel"], f["stride"], f["padding"], divisor_override=e.get("divisor_override"), **kw).abs().numpy()
    taps = F.avg_pool3d(torch.ones_like(t), f["kernel"], f["stride"], f["padding"], divisor_override=1, **kw).numpy()
    return (taps + 1) * 2.0 ** -23 * mean_size + narrow_term(mean_size, taps, dtype_of(e))


def lp_bound(e, x):
    """Lp ops: reference::error_bounds' bound, from PyTorch's own pooling in float64 (logical
    layout, x float64): the root's argument A is off by at most E = (K + term roundings + 2) eps
    sum|x|^p K/clipped, the root by min(E^(1/p), E / (p (A - E)^(1 - 1/p))) plus two of its
    roundings. In f16/bf16 eps is the type's (every step rounds to it), plus its smallest step."""
    dt = dtype_of(e)
    f = normalized(e)
    r = len(e["input"]) - 2
    p = e.get("p", 2)
    kernel = f["kernel"] if e["op"] == "lp_pool" else e["input"][2:]
    stride = f["stride"] if e["op"] == "lp_pool" else kernel
    ksize = int(np.prod(kernel))
    t = torch.from_numpy(x.astype(np.float64))
    pool = getattr(F, f"avg_pool{r}d")
    mean = lambda v: pool(v, kernel, stride, 0, ceil_mode=e.get("ceil_mode", False)) * ksize
    terms, signed = mean(t.abs() ** p).numpy(), mean(t ** p).numpy()
    eps = EPS[dt]
    tiny = TINY[dt] if dt != "f32" else 0.0
    err = (ksize + (p - 1 if p <= 3 else 4) + 2) * eps * terms
    a = np.abs(signed)
    # Where a float32 sum can overflow, its order alone decides (as for averages): no bound. In
    # f16/bf16 the terms and the scaled mean round to the type, so that is where it overflows.
    overflow = np.isfinite(terms) & (terms > MAX[dt])
    if p == 1:
        return err + eps * a + tiny, overflow
    # The exponent 1/p: PyTorch's pow passes it as a float to its vector loop and as a double to
    # its scalar tail, so the same value's root differs by position: x^(1/p) moves by |ln x| times
    # the exponent's rounding, relatively (8 ulps for 1/3 at x = 2^72). In f16/bf16 PyTorch rounds
    # the exponent to the type, and so does poolgen; float32 PyTorch (torch_lacks_type) does not.
    exponent_error = abs(float(np.float32(1 / p)) - 1 / p)
    if dt != "f32":
        exponent_error = max(exponent_error, abs(torch.tensor(1 / p).to(TORCH_DTYPE[dt]).item() - 1 / p))
    with np.errstate(all="ignore"):
        root = np.minimum(err ** (1 / p), np.where(a > err, err / (p * np.maximum(a - err, 1e-300) ** (1 - 1 / p)), np.inf))
        exponent = np.abs(np.log(a + err)) * exponent_error * (a + err) ** (1 / p)
        return root + 2 * eps * (a + err) ** (1 / p) + np.nan_to_num(exponent) + tiny, overflow


def compare_run(a, d, e, name, x, stats):
    """Kernel e on input x (logical layout, in the kernel's dtype) through `poolgen run` and
    PyTorch: None when they agree (stats counts how), else the disagreement."""
    dt = dtype_of(e)
    order = memory_order(e)
    with_indices = bool(e.get("return_indices", False))
    np.save(f"{d}/x.npy", np.ascontiguousarray(x.transpose(order)))
    cmd = [a.poolgen, "run", e["name"], "--input", f"{d}/x.npy", "--output", f"{d}/y.npy", "--device", "cpu"]
    if with_indices:
        cmd += ["--indices", f"{d}/i.npy"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    where = f"{e['name']} on {name} :: {json.dumps(e)}"
    if r.returncode:
        return f"poolgen run failed: {r.stderr.strip()} -- {where}"
    ours = np.load(f"{d}/y.npy")
    xt = in_layout(torch, to_tensor(x, dt, e.get("zero_point", 0)), e)
    if torch_lacks_type(e):
        out, idx = torch_call(e, xt.float())
        out = out.to(TORCH_DTYPE[dt])
    else:
        out, idx = torch_call(e, xt)
    theirs = np.ascontiguousarray(from_tensor(out.permute(*order), dt))
    if ours.shape != theirs.shape or ours.dtype != theirs.dtype:
        return f"output {ours.dtype} {ours.shape} vs PyTorch's {theirs.dtype} {theirs.shape} -- {where}"
    if with_indices:
        oi, ti = np.load(f"{d}/i.npy"), idx.permute(*order).contiguous().numpy()
        if oi.shape != ti.shape:
            return f"indices shape {oi.shape} vs PyTorch's {ti.shape} -- {where}"
        quirk = pytorch_3d_channel_tail_index(e, widened(ours, dt), oi, ti)
        if ((oi != ti) & ~quirk).any():
            at = tuple(int(i) for i in np.argwhere((oi != ti) & ~quirk)[0])
            return f"indices differ at {at} (memory order): ours {oi[at]}, PyTorch's {ti[at]} -- {where}"
        if quirk.any():
            stats["of which PyTorch's 3D channel-tail index (documented)"] += 1
    ou, tu = bits_of(ours), bits_of(theirs)
    differ = ou != tu
    if not differ.any():
        stats["bitwise"] += 1
        return None
    ow, tw = widened(ours, dt), widened(theirs, dt)
    both_nan = np.isnan(ow) & np.isnan(tw)
    if not (differ & ~both_nan).any():
        if dt != "f32":
            # PyTorch's f16/bf16 code paths differ in the payload of a NaN: NaN matches NaN.
            stats["bitwise, NaN as NaN (f16/bf16)"] += 1
            return None
        if not e["op"].endswith("max_pool"):
            # Which NaN's payload an average returns is not fixed (docs/semantics.md, Semantics).
            stats["NaN payload only (average)"] += 1
            return None
    inv = np.argsort(order)
    ol, tl = np.transpose(ow, inv), np.transpose(tw, inv)
    xw = widened(x, dt)
    lp = e["op"] in ("lp_pool", "global_lp_pool")
    if lp:
        bound, may_overflow = lp_bound(e, xw)
        ok = (np.abs(ol - tl) <= bound) | (ol == tl) | (np.isnan(ol) & np.isnan(tl)) | may_overflow
        if ok.all():
            stats["within bound (lp" + (", PyTorch's float32 rounded to the type)" if torch_lacks_type(e) else ")")] += 1
            return None
    elif torch_lacks_type(e):
        # Both sum in float32 in PyTorch's order: no overflow of the sum can differ, so anything
        # not finite must match exactly (NaN as NaN).
        bound = avg_3d_bound(e, xw)
        finite = np.isfinite(ol) & np.isfinite(tl)
        ok = (finite & (np.abs(ol - tl) <= bound)) | (ol == tl) | (np.isnan(ol) & np.isnan(tl))
        if ok.all():
            stats["within bound (avg_pool3d, PyTorch's float32 rounded to the type)"] += 1
            return None
    if whole_plane_average(e):
        taps = int(np.prod(e["input"][2:]))
        total = np.abs(xw).reshape(x.shape[0], x.shape[1], -1).sum(-1)
        b32 = ((taps + 1) * 2.0 ** -23 * total / taps).reshape(tl.shape)
        bound = b32 + narrow_term((total / taps).reshape(tl.shape), taps, dt)
        # Where a float32 sum can overflow, the order alone decides between a finite value, an
        # infinity and NaN: no bound applies (docs/semantics.md, Semantics). f16/bf16 sum in
        # float32 here too.
        may_overflow = total.reshape(tl.shape) > np.finfo(np.float32).max
        ok = (np.abs(ol - tl) <= bound) | (ol == tl) | (np.isnan(ol) & np.isnan(tl)) | may_overflow
        if ok.all():
            stats["within bound (mean() order)"] += 1
            return None
    if (e["op"] == "adaptive_avg_pool" and e.get("layout") == "nhwc" and len(e["input"]) <= 4 and dt == "f32"):
        # PyTorch's channels-last adaptive average divides the channels of its full vectors once
        # by kh*kw and the rest by kh, then kw, as poolgen does everywhere: one rounding apart
        # (docs/semantics.md, where PyTorch's versions and devices differ).
        ulp = np.maximum(2.0 ** -23 * np.maximum(np.abs(ol), np.abs(tl)), 2.0 ** -149)  # subnormals: one step
        ok = (np.abs(ol - tl) <= ulp) | (ol == tl) | (np.isnan(ol) & np.isnan(tl))
        if ok.all():
            stats["within one ulp (nhwc adaptive division order)"] += 1
            return None
    if dt != "f32":
        differ &= ~both_nan
    at = tuple(int(i) for i in np.argwhere(differ)[0])
    width = 10 if dt == "f32" else 6
    show = (lambda v, w: repr(v.item())) if dt == "f32" else (lambda v, w: repr(float(w)))
    return (f"value at {at} (memory order): ours {show(ours[at], ow[at])} ({ou[at]:#0{width}x}), PyTorch's "
            f"{show(theirs[at], tw[at])} ({tu[at]:#0{width}x}); {differ.sum()} of {differ.size} differ -- {where}")


def cmd_values(a):
    rng = np.random.default_rng(a.seed)
    with open(a.manifest) as fh:
        kernels = json.load(fh)["kernels"]
    stats = collections.Counter()
    per_dtype = {t: collections.Counter(kernels=0, runs=0, disagreements=0) for t in DTYPES}
    failures = []
    runs = 0
    with tempfile.TemporaryDirectory() as d:
        for e in kernels:
            dt = dtype_of(e)
            per_dtype[dt]["kernels"] += 1
            for name, x in adversarial_inputs(rng, e["input"], dt, e.get("zero_point", 0)).items():
                runs += 1
                per_dtype[dt]["runs"] += 1
                failure = compare_run(a, d, e, name, x, stats)
                if failure:
                    failures.append(failure)
                    per_dtype[dt]["disagreements"] += 1
    for f in failures:
        print("DIFF", f)
    print(json.dumps({"torch": torch.__version__, "kernels": len(kernels), "runs": runs,
                      "disagreements": len(failures), **stats,
                      "by_dtype": {t: dict(c) for t, c in per_dtype.items() if c["kernels"]}}))
    return 1 if failures else 0


# ---- validate

# Which manifest field a PyTorch error message is about (first match wins).
TORCH_MESSAGE_FIELDS = [("norm_type", "p"), ("divisor must be not zero", "divisor_override"), ("stride", "stride"), ("pad", "padding"),
                        ("kernel size should be", "kernel"), ("kernel_size must be", "kernel"), ("dilation", "dilation"),
                        ("Output size is too small", "kernel"), ("Invalid computed output size", "kernel"),
                        ("smaller than kernel size", "kernel"), ("output_size", "output_size"),
                        ("negative dimension", "output_size")]


# `dtype` values poolgen must refuse: names it does not know (spelling and case matter) and
# values that are not strings.
BAD_DTYPES = ["f64", "float16", "half", "bfloat16", "F16", "BF16", "fp16", "f8", "int8", "", " f16", "f32 ", None, 16, True,
              ["f16"], {"f16": 1}]


def accepted_spec(rng):
    """A random spec that PyTorch accepts with a non-empty output."""
    while True:
        e = {"name": "v", **rand_spec(rng)}
        try:
            torch_call(e, torch.zeros(e["input"]))
            out, _ = torch_call(e, torch_zeros(e))
        except Exception:
            continue
        if out.numel() > 0:
            return e


def cmd_validate(a):
    rng = random.Random(a.seed)
    stats = collections.Counter()
    failures = []
    with tempfile.TemporaryDirectory() as d:
        def poolgen_validate(e):
            """poolgen's one-line error, or None when it accepts."""
            with open(f"{d}/m.json", "w") as fh:
                json.dump({"version": 1, "kernels": [e]}, fh)
            r = subprocess.run([a.poolgen, "validate", f"{d}/m.json"], capture_output=True, text=True)
            return r.stderr.strip() if r.returncode else None

        for _ in range(a.count):
            e = {"name": "v", **rand_spec(rng, invalid=True)}
            torch_error = None
            try:
                # PyTorch's float rules for every dtype: its quantized kernels skip some checks
                # (kernel 0, negative strides, 3D average windows larger than the input) and
                # check the rest in another order; poolgen refuses those as for floats.
                out, _ = torch_call(e, torch.zeros(e["input"]))
                if out.numel() == 0:
                    torch_error = "empty output"  # poolgen refuses: an empty output needs no kernel
            except Exception as ex:
                torch_error = str(ex).splitlines()[0]
            ours = poolgen_validate(e)
            stats[("torch refuses" if torch_error else "torch accepts") + ", " + ("poolgen refuses" if ours else "poolgen accepts")] += 1
            if (torch_error is None) != (ours is None):
                failures.append(f"PyTorch: {torch_error or 'accepts'}; poolgen: {ours or 'accepts'} -- {json.dumps(e)}")
            elif torch_error and ours:
                if torch_error == "empty output":
                    expected = "output_size" if e["op"].startswith("adaptive") else "kernel"
                else:
                    expected = next((fld for key, fld in TORCH_MESSAGE_FIELDS if key in torch_error), None)
                if expected and f"field '{expected}'" not in ours:
                    failures.append(f"field: PyTorch's message is about '{expected}' ({torch_error}); poolgen: {ours}")
        # dtype: a kernel PyTorch accepts, with a dtype poolgen does not know, must be refused
        # naming 'dtype'; so must f16 and bf16 under "rules": "onnx" (f32 only).
        dtype_checks = 0
        for bad in BAD_DTYPES:
            e = dict(accepted_spec(rng), dtype=bad)
            ours = poolgen_validate(e)
            dtype_checks += 1
            stats["dtype unknown, poolgen refuses"] += ours is not None
            if ours is None or "field 'dtype'" not in ours:
                failures.append(f"dtype {json.dumps(bad)}: poolgen {ours or 'accepts'}; expected a refusal naming field 'dtype' -- {json.dumps(e)}")
        for _ in range(max(1, a.count // 30)):
            e = dict(accepted_spec(rng), rules="onnx", dtype=rng.choice(NARROW))
            ours = poolgen_validate(e)
            dtype_checks += 1
            stats["dtype f16/bf16 under rules onnx, poolgen refuses"] += ours is not None
            if ours is None or "field 'dtype'" not in ours:
                failures.append(f"dtype {e['dtype']} under rules onnx: poolgen {ours or 'accepts'}; expected a refusal naming field 'dtype' -- {json.dumps(e)}")
        # u8/i8: what PyTorch's quantized tensors cannot be, poolgen must refuse by the field.
        for _ in range(max(1, a.count // 30)):
            base = accepted_spec(rng)
            dt = rng.choice(list(QUANTIZED))
            _, _, lo, hi = QUANTIZED[dt]
            cases = [(dict(base, dtype=rng.choice(["f32", "f16", "bf16"]), zero_point=0), None, "zero_point"),
                     ({"name": "v", "op": "lp_pool", "input": [1, 2, 4, 4], "kernel": 2, "p": 2}, dt, "dtype")]
            if base["op"] in QUANTIZED_OPS:  # (Lp ops in u8/i8 are refused by their dtype first)
                cases.append((dict(base, zero_point=rng.choice([hi + 1, lo - 1, 1000])), dt, "zero_point"))
            for e, want_dt, field in cases:
                if want_dt:
                    e = dict(e, dtype=want_dt)
                ours = poolgen_validate(e)
                dtype_checks += 1
                stats[f"u8/i8 rule on '{field}', poolgen refuses"] += ours is not None
                if ours is None or f"field '{field}'" not in ours:
                    failures.append(f"{field}: poolgen {ours or 'accepts'}; expected a refusal naming field '{field}' -- {json.dumps(e)}")
    for f in failures:
        print("DIFF", f)
    print(json.dumps({"torch": torch.__version__, "parameter_sets": a.count, "dtype_checks": dtype_checks,
                      "disagreements": len(failures), **stats}))
    return 1 if failures else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("manifest")
    m.add_argument("out")
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--count", type=int, default=60)
    m.add_argument("--large", action="store_true", help="larger tensors (vector tails, parallel tasks)")
    v = sub.add_parser("values")
    v.add_argument("manifest")
    v.add_argument("poolgen")
    v.add_argument("--seed", type=int, default=1)
    c = sub.add_parser("validate")
    c.add_argument("poolgen")
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--count", type=int, default=3000)
    a = p.parse_args()
    return {"manifest": cmd_manifest, "values": cmd_values, "validate": cmd_validate}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
