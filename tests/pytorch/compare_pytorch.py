#!/usr/bin/env python3
"""Differential check of poolgen against an installed PyTorch (CPU).

  compare_pytorch.py manifest OUT.json [--seed S] [--count N] [--large]
      random manifest entries that this PyTorch accepts with a non-empty output, plus fixed
      edge cases (windows entirely in padding, 1x1 inputs, adaptive up-sizing, ...); --large
      draws bigger tensors (up to 130 channels, 45x45, 14^3, 300 long)
  compare_pytorch.py values MANIFEST POOLGEN [--seed S]
      every kernel of MANIFEST run with `POOLGEN run` on adversarial inputs and compared bit for
      bit (uint32 view) with PyTorch, indices exactly; nhwc kernels against PyTorch's
      channels_last / channels_last_3d tensors. Averages whose output is all ones are computed by
      PyTorch with mean() (an order of its own): those must be within the documented bound.
  compare_pytorch.py validate POOLGEN [--seed S] [--count N]
      random, mostly invalid parameter sets: `POOLGEN validate` must accept exactly what PyTorch
      accepts, and name the field PyTorch's message is about.

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
            out, _ = torch_call(e, torch.zeros(e["input"]))
        except Exception:
            continue
        if out.numel() > 0:
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


def adversarial_inputs(rng, shape):
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


def pytorch_3d_channel_tail_index(e, ours, oi, ti):
    """Where PyTorch's channels-last max_pool3d leaves d*H*W out of the index of a window with no
    tap taken: in its scalar loop over the channels after its last full vector (docs/semantics.md,
    Semantics). Tail channels for any vector width up to 16 floats; memory-order arrays."""
    if e["op"] != "max_pool" or e["layout"] != "nhwc" or len(e["input"]) != 5:
        return np.zeros(oi.shape, dtype=bool)
    channels, plane = e["input"][1], e["input"][3] * e["input"][4]
    tail = np.arange(channels) >= channels - channels % 16
    depth_term = oi - ti
    return (depth_term > 0) & (depth_term % plane == 0) & np.isneginf(ours) & tail


def whole_plane_average(e):
    return e["op"] in ("global_avg_pool", "adaptive_avg_pool") and all(v == 1 for v in normalized(e)["output_size"])


def lp_bound(e, x):
    """Lp ops: reference::error_bounds' bound, from PyTorch's own pooling in float64 (logical
    layout): the root's argument A is off by at most E = (K + term roundings + 2) eps sum|x|^p
    K/clipped, the root by min(E^(1/p), E / (p (A - E)^(1 - 1/p))) plus two of its roundings."""
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
    eps = 2.0 ** -23
    err = (ksize + (p - 1 if p <= 3 else 4) + 2) * eps * terms
    a = np.abs(signed)
    # Where a float32 sum can overflow, its order alone decides (as for averages): no bound.
    overflow = np.isfinite(terms) & (terms > np.finfo(np.float32).max)
    if p == 1:
        return err + eps * a, overflow
    with np.errstate(all="ignore"):
        root = np.minimum(err ** (1 / p), np.where(a > err, err / (p * np.maximum(a - err, 1e-300) ** (1 - 1 / p)), np.inf))
        # PyTorch's pow passes 1/p as a float to its vector loop and as a double to its scalar
        # tail, so the same value's root differs by position: x^(1/p) moves by |ln x| times the
        # exponent's rounding, relatively (8 ulps for 1/3 at x = 2^72).
        exponent = np.abs(np.log(a + err)) * abs(float(np.float32(1 / p)) - 1 / p) * (a + err) ** (1 / p)
        return root + 2 * eps * (a + err) ** (1 / p) + np.nan_to_num(exponent), overflow


def cmd_values(a):
    rng = np.random.default_rng(a.seed)
    with open(a.manifest) as fh:
        kernels = json.load(fh)["kernels"]
    stats = collections.Counter()
    failures = []
    runs = 0
    with tempfile.TemporaryDirectory() as d:
        for e in kernels:
            order = memory_order(e)
            with_indices = bool(e.get("return_indices", False))
            for name, x in adversarial_inputs(rng, e["input"]).items():
                runs += 1
                np.save(f"{d}/x.npy", np.ascontiguousarray(x.transpose(order)))
                cmd = [a.poolgen, "run", e["name"], "--input", f"{d}/x.npy", "--output", f"{d}/y.npy", "--device", "cpu"]
                if with_indices:
                    cmd += ["--indices", f"{d}/i.npy"]
                r = subprocess.run(cmd, capture_output=True, text=True)
                where = f"{e['name']} on {name} :: {json.dumps(e)}"
                if r.returncode:
                    failures.append(f"poolgen run failed: {r.stderr.strip()} -- {where}")
                    continue
                ours = np.load(f"{d}/y.npy")
                out, idx = torch_call(e, in_layout(torch, torch.from_numpy(x.copy()), e))
                theirs = np.ascontiguousarray(out.permute(*order).numpy())
                if ours.shape != theirs.shape:
                    failures.append(f"output shape {ours.shape} vs PyTorch's {theirs.shape} -- {where}")
                    continue
                if with_indices:
                    oi, ti = np.load(f"{d}/i.npy"), idx.permute(*order).contiguous().numpy()
                    if oi.shape != ti.shape:
                        failures.append(f"indices shape {oi.shape} vs PyTorch's {ti.shape} -- {where}")
                        continue
                    quirk = pytorch_3d_channel_tail_index(e, ours, oi, ti)
                    if ((oi != ti) & ~quirk).any():
                        at = tuple(int(i) for i in np.argwhere((oi != ti) & ~quirk)[0])
                        failures.append(f"indices differ at {at} (memory order): ours {oi[at]}, PyTorch's {ti[at]} -- {where}")
                        continue
                    if quirk.any():
                        stats["of which PyTorch's 3D channel-tail index (documented)"] += 1
                ou, tu = ours.view(np.uint32), theirs.view(np.uint32)
                differ = ou != tu
                if not differ.any():
                    stats["bitwise"] += 1
                    continue
                both_nan = np.isnan(ours) & np.isnan(theirs)
                if not (differ & ~both_nan).any() and not e["op"].endswith("max_pool"):
                    # Which NaN's payload an average returns is not fixed (docs/semantics.md, Semantics).
                    stats["NaN payload only (average)"] += 1
                    continue
                if e["op"] in ("lp_pool", "global_lp_pool"):
                    inv = np.argsort(order)
                    ol, tl = np.transpose(ours, inv).astype(np.float64), np.transpose(theirs, inv).astype(np.float64)
                    bound, may_overflow = lp_bound(e, x)
                    ok = (np.abs(ol - tl) <= bound) | (ol == tl) | (np.isnan(ol) & np.isnan(tl)) | may_overflow
                    if ok.all():
                        stats["within bound (lp)"] += 1
                        continue
                if whole_plane_average(e):
                    inv = np.argsort(order)
                    ol, tl = np.transpose(ours, inv).astype(np.float64), np.transpose(theirs, inv).astype(np.float64)
                    taps = int(np.prod(e["input"][2:]))
                    total = np.abs(x.astype(np.float64)).reshape(x.shape[0], x.shape[1], -1).sum(-1)
                    bound = ((taps + 1) * 2.0 ** -23 * total / taps).reshape(tl.shape)
                    # Where a float32 sum can overflow, the order alone decides between a finite
                    # value, an infinity and NaN: no bound applies (docs/semantics.md, Semantics).
                    may_overflow = total.reshape(tl.shape) > np.finfo(np.float32).max
                    ok = (np.abs(ol - tl) <= bound) | (ol == tl) | (np.isnan(ol) & np.isnan(tl)) | may_overflow
                    if ok.all():
                        stats["within bound (mean() order)"] += 1
                        continue
                at = tuple(int(i) for i in np.argwhere(differ)[0])
                failures.append(f"value at {at} (memory order): ours {ours[at].item()!r} ({ou[at]:#010x}), PyTorch's {theirs[at].item()!r} "
                                f"({tu[at]:#010x}); {differ.sum()} of {differ.size} differ -- {where}")
    for f in failures:
        print("DIFF", f)
    print(json.dumps({"torch": torch.__version__, "kernels": len(kernels), "runs": runs,
                      "disagreements": len(failures), **stats}))
    return 1 if failures else 0


# ---- validate

# Which manifest field a PyTorch error message is about (first match wins).
TORCH_MESSAGE_FIELDS = [("norm_type", "p"), ("divisor must be not zero", "divisor_override"), ("stride", "stride"), ("pad", "padding"),
                        ("kernel size should be", "kernel"), ("kernel_size must be", "kernel"), ("dilation", "dilation"),
                        ("Output size is too small", "kernel"), ("Invalid computed output size", "kernel"),
                        ("smaller than kernel size", "kernel"), ("output_size", "output_size"),
                        ("negative dimension", "output_size")]


def cmd_validate(a):
    rng = random.Random(a.seed)
    stats = collections.Counter()
    failures = []
    with tempfile.TemporaryDirectory() as d:
        for _ in range(a.count):
            e = {"name": "v", **rand_spec(rng, invalid=True)}
            torch_error = None
            try:
                out, _ = torch_call(e, torch.zeros(e["input"]))
                if out.numel() == 0:
                    torch_error = "empty output"  # poolgen refuses: an empty output needs no kernel
            except Exception as ex:
                torch_error = str(ex).splitlines()[0]
            with open(f"{d}/m.json", "w") as fh:
                json.dump({"version": 1, "kernels": [e]}, fh)
            r = subprocess.run([a.poolgen, "validate", f"{d}/m.json"], capture_output=True, text=True)
            ours = r.stderr.strip() if r.returncode else None
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
    for f in failures:
        print("DIFF", f)
    print(json.dumps({"torch": torch.__version__, "parameter_sets": a.count, "disagreements": len(failures), **stats}))
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
