#!/usr/bin/python3
"""Generate poolgen's golden fixtures by running real PyTorch.

Run from anywhere with a Python that has PyTorch 2.15 and numpy (PyPI's wheels):

    python3 -m venv ~/venvs/torch && ~/venvs/torch/bin/pip install torch==2.15.0 numpy
    ~/venvs/torch/bin/python tests/golden/make_golden.py

Writes, next to this script:
  data/<name>.input.npy    input in the kernel's dtype and MEMORY layout (nhwc: N,spatial...,C):
                           <f4 for f32, <f2 for f16, bf16 as its raw bits in <u2 (NumPy has no
                           bfloat16), as poolgen::npy_descr gives them
  data/<name>.output.npy   PyTorch's output, same dtype and layout rules
  data/<name>.indices.npy  (max ops with return_indices) <i8 flat plane indices, laid out
                           like the output
  golden.json              manifest v1 of every valid case (targets: cpu)
  invalid.json             parameter combinations PyTorch rejects, with its error text

Everything is computed in PyTorch on the logical (NCHW-order) tensor; nhwc arrays are the
permuted results.  For 2D and 3D nhwc cases the op is also run on the channels_last tensor
and checked to give the same result.  The f16 and bf16 cases (names ending in _f16 / _bf16) run
PyTorch's CPU ops on tensors of that dtype; their inputs are the generated float32 values rounded
to the type.  The script is deterministic: running it twice gives byte-identical files.
"""

import json
import os
import re
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")

NAN, INF = float("nan"), float("inf")

OPS = ("max_pool", "avg_pool", "adaptive_max_pool", "adaptive_avg_pool",
       "global_max_pool", "global_avg_pool", "lp_pool", "global_lp_pool")

# Manifest dtype -> PyTorch dtype, and the machine epsilon of each.
TORCH_DTYPE = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
EPSILON = {"f32": 2.0 ** -23, "f16": 2.0 ** -10, "bf16": 2.0 ** -7}


# ----------------------------------------------------------------------------- inputs

def ints(shape, seed, lo=-8, hi=8):
    """Small integer-valued floats: sums of a window are exact in float32."""
    rng = np.random.default_rng(seed)
    return rng.integers(lo, hi + 1, size=shape).astype(np.float32)


def normal(shape, seed):
    """Generic floats (distinct values; averages need a tolerance)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal(size=shape).astype(np.float32)


def special(shape, seed, frac=0.02):
    """Integers in [-4, 4] (many exact ties) with NaN, -inf, +inf sprinkled in (frac each)
    and every zero turned into -0.0 at random."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-4, 5, size=shape).astype(np.float32)
    u = rng.random(size=shape)
    x[u < frac] = NAN
    x[(u >= frac) & (u < 2 * frac)] = -INF
    x[(u >= 2 * frac) & (u < 3 * frac)] = INF
    z = (x == 0) & (rng.random(size=shape) < 0.5)
    x[z] = -0.0
    return x


def lit(values, batch_dims=2):
    """A literal nested list -> float32 array with leading unit N and C dims."""
    a = np.array(values, dtype=np.float32)
    return a.reshape((1,) * batch_dims + a.shape)


# ----------------------------------------------------------------------------- manifest

def lst(v, nd):
    if isinstance(v, (list, tuple)):
        assert len(v) == nd, (v, nd)
        return [int(e) for e in v]
    return [int(v)] * nd


def entry(name, op, layout, shape, kernel=None, stride=None, padding=0, dilation=1,
          ceil_mode=False, return_indices=True, count_include_pad=True,
          divisor_override=None, output_size=None, p=None, dtype="f32"):
    """A manifest v1 kernel entry with every field spelled out (lists per spatial dim)."""
    assert op in OPS and layout in ("nchw", "nhwc") and dtype in ("f32", "f16", "bf16", "u8", "i8")
    nd = len(shape) - 2
    e = {"name": name, "op": op, "dtype": dtype, "layout": layout,
         "input": [int(s) for s in shape]}
    if op in ("lp_pool", "global_lp_pool"):
        e["p"] = int(p)
    if op in ("max_pool", "avg_pool", "lp_pool"):
        e["kernel"] = lst(kernel, nd)
        e["stride"] = lst(kernel if stride is None else stride, nd)
        e["padding"] = lst(padding, nd)
        if op == "max_pool":
            e["dilation"] = lst(dilation, nd)
        e["ceil_mode"] = bool(ceil_mode)
        if op == "avg_pool":
            e["count_include_pad"] = bool(count_include_pad)
            if nd != 1:  # F.avg_pool1d has no divisor_override
                e["divisor_override"] = divisor_override
            else:
                assert divisor_override is None
    elif op in ("adaptive_max_pool", "adaptive_avg_pool"):
        e["output_size"] = lst(output_size, nd)
    if op in ("max_pool", "adaptive_max_pool", "global_max_pool"):
        e["return_indices"] = bool(return_indices)
    e["targets"] = ["cpu"]
    return e


# ----------------------------------------------------------------------------- PyTorch

FN = {
    ("max_pool", 1): F.max_pool1d, ("max_pool", 2): F.max_pool2d, ("max_pool", 3): F.max_pool3d,
    ("avg_pool", 1): F.avg_pool1d, ("avg_pool", 2): F.avg_pool2d, ("avg_pool", 3): F.avg_pool3d,
    ("adaptive_max_pool", 1): F.adaptive_max_pool1d,
    ("adaptive_max_pool", 2): F.adaptive_max_pool2d,
    ("adaptive_max_pool", 3): F.adaptive_max_pool3d,
    ("adaptive_avg_pool", 1): F.adaptive_avg_pool1d,
    ("adaptive_avg_pool", 2): F.adaptive_avg_pool2d,
    ("adaptive_avg_pool", 3): F.adaptive_avg_pool3d,
    ("lp_pool", 1): F.lp_pool1d, ("lp_pool", 2): F.lp_pool2d, ("lp_pool", 3): F.lp_pool3d,
}


def torch_run(e, t):
    """Run the PyTorch functional op the manifest entry `e` describes on tensor `t`.
    Returns (values, indices-or-None)."""
    nd = len(e["input"]) - 2
    op = e["op"]
    ri = e.get("return_indices", False)
    if op == "global_max_pool":
        op, size = "adaptive_max_pool", [1] * nd
    elif op == "global_avg_pool":
        op, size = "adaptive_avg_pool", [1] * nd
    elif op == "global_lp_pool":
        # PyTorch has no global Lp pool: lp_pool with the whole plane as the kernel.
        plane = list(e["input"][2:])
        e = dict(e, op="lp_pool", kernel=plane, stride=plane, ceil_mode=False)
        op, size = "lp_pool", None
    else:
        size = e.get("output_size")
    fn = FN[(op, nd)]
    if op == "max_pool":
        r = fn(t, e["kernel"], e["stride"], e["padding"], e["dilation"],
               ceil_mode=e["ceil_mode"], return_indices=ri)
    elif op == "avg_pool":
        kw = dict(ceil_mode=e["ceil_mode"], count_include_pad=e["count_include_pad"])
        if nd != 1:
            kw["divisor_override"] = e["divisor_override"]
        r = fn(t, e["kernel"], e["stride"], e["padding"], **kw)
    elif op == "lp_pool":
        k, st = (e["kernel"][0], e["stride"][0]) if nd == 1 else (e["kernel"], e["stride"])
        r = fn(t, e["p"], k, st, ceil_mode=e["ceil_mode"])
    elif op == "adaptive_max_pool":
        r = fn(t, size, return_indices=ri)
    else:
        r = fn(t, size)
    if isinstance(r, tuple):
        return r[0], r[1]
    return r, None


def to_memory(a, layout):
    """Logical N,C,spatial... numpy array -> the kernel's memory layout."""
    if layout == "nchw":
        return np.ascontiguousarray(a)
    return np.ascontiguousarray(np.moveaxis(a, 1, -1))


def widened(t):
    """A float tensor of any of the dtypes -> a float32 numpy array (exact for f16 and bf16)."""
    return t.detach().contiguous().to(torch.float32).numpy()


def stored(t):
    """A tensor in the kernel's dtype -> the numpy array written to the .npy file: float32 <f4,
    float16 <f2, bfloat16 as its raw bits in uint16 <u2 (poolgen::npy_descr)."""
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(np.uint16).copy()
    a = t.numpy().copy()
    assert a.dtype in (np.float32, np.float16), a.dtype
    return a


def same_bits(a, b):
    a = np.ascontiguousarray(a)
    b = np.ascontiguousarray(b)
    if a.dtype == np.float32:
        # any NaN equals any NaN; otherwise bitwise (so 0.0 != -0.0)
        an, bn = np.isnan(a), np.isnan(b)
        return (a.shape == b.shape and np.array_equal(an, bn)
                and np.array_equal(a.view(np.uint32)[~an], b.view(np.uint32)[~bn]))
    return a.shape == b.shape and np.array_equal(a, b)


VALID = []      # manifest entries
WRITTEN = []    # file names written under data/
SURPRISES = []  # notes printed at the end


def save(name, a):
    fn = name + ".npy"
    np.save(os.path.join(DATA, fn), a, allow_pickle=False)
    WRITTEN.append(fn)


def case(name, op, layout, x, expect=None, expect_idx=None, atol=0.0, dtype="f32", **params):
    """One valid golden case. `x` is the logical (N,C,spatial...) float32 input; f16 and bf16
    cases round it to their type (PyTorch's conversion, to nearest even) and run PyTorch on
    tensors of that type. `expect` / `expect_idx`: values stated in docs/semantics.md or the
    worked examples (logical layout, or without the N,C dims), asserted against PyTorch's result.
    Returns PyTorch's values (float32; f16/bf16 widened exactly) and indices, logical layout."""
    assert name.isidentifier() and name == name.lower(), name
    assert name not in {k["name"] for k in VALID}, name
    assert (dtype == "f32") == (not name.endswith(("_f16", "_bf16"))), name
    x = np.asarray(x, dtype=np.float32)
    e = entry(name, op, layout, x.shape, dtype=dtype, **params)
    nd = x.ndim - 2
    tdt = TORCH_DTYPE[dtype]

    def tensor():  # the logical input tensor in the case's dtype
        t = torch.from_numpy(x.copy())
        return t if dtype == "f32" else t.to(tdt)

    t = tensor()
    xs = stored(t)  # the input as stored (x itself for f32)
    yt, idx = torch_run(e, t)
    assert yt.dtype == tdt, (name, yt.dtype)
    ys = stored(yt)
    y = widened(yt)
    idx = None if idx is None else idx.contiguous().numpy().astype(np.int64)
    assert y.dtype == np.float32

    if expect is not None:
        ex = np.asarray(expect, dtype=np.float32).reshape(y.shape)
        if atol == 0.0:
            assert same_bits(y, ex), (name, y, ex)   # bitwise: the sign of zero counts
        else:
            assert np.allclose(y, ex, atol=atol, rtol=0, equal_nan=True), (name, y, ex)
    if expect_idx is not None:
        assert idx is not None
        exi = np.asarray(expect_idx, dtype=np.int64).reshape(idx.shape)
        assert np.array_equal(idx, exi), (name, idx, exi)

    # Cross-checks against other PyTorch paths.
    if layout == "nhwc" and nd in (2, 3):
        fmt = torch.channels_last if nd == 2 else torch.channels_last_3d
        tcl = tensor().contiguous(memory_format=fmt)
        ycl, icl = torch_run(e, tcl)
        assert ycl.dtype == tdt, (name, ycl.dtype)
        ycl = widened(ycl)
        # Averages: compare with a tolerance that also equates 0.0 and -0.0 (the contiguous
        # avg_pool kernel computes `out = 0; out += sum / divisor`, which turns a -0.0
        # quotient into +0.0; the channels_last kernel keeps -0.0), and note any difference.
        # f16/bf16: another float32 summation order may round to the neighbouring value.
        if op in ("avg_pool", "adaptive_avg_pool", "global_avg_pool", "lp_pool", "global_lp_pool"):
            tol = 1e-6 if dtype == "f32" else EPSILON[dtype]
            ok = np.allclose(ycl, y, rtol=tol, atol=tol, equal_nan=True)
            if ok and not same_bits(ycl, y):
                nz = int(np.sum((ycl == 0) & (np.signbit(ycl) != np.signbit(y))))
                SURPRISES.append(f"{name}: channels_last result not bitwise equal to "
                                 f"contiguous (max diff {np.nanmax(np.abs(ycl - y)):.3g}, "
                                 f"{nz} zeros of other sign)")
        else:
            ok = same_bits(ycl, y)
        assert ok, (name, "channels_last values differ")
        if idx is not None:
            assert np.array_equal(icl.contiguous().numpy(), idx), (name, "channels_last indices")
    if op == "max_pool" and nd == 1:
        # max_pool1d without indices takes its own CPU path; it must give the same values.
        e2 = dict(e, return_indices=not e["return_indices"])
        y2, _ = torch_run(e2, tensor())
        assert same_bits(widened(y2), y), (name, "max_pool1d paths differ")

    save(name + ".input", to_memory(xs, layout))
    save(name + ".output", to_memory(ys, layout))
    if e.get("return_indices"):
        assert idx is not None and idx.dtype == np.int64
        save(name + ".indices", to_memory(idx, layout))
    VALID.append(e)
    return y, idx


# ============================================================================ valid cases

def valid_cases():
    a16 = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    a9 = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    a19 = (np.arange(9, dtype=np.float32) + 1).reshape(1, 1, 3, 3)   # [[1,2,3],[4,5,6],[7,8,9]]

    # ---------------------------------------------------------------- max_pool 2D
    # Seed worked examples.
    case("max2d_k2s2_seed4x4", "max_pool", "nchw",
         lit([[1, 3, 2, 1], [4, 6, 5, 0], [2, 9, 3, 4], [0, 1, 7, 2]]),
         kernel=2, stride=2, expect=[[6, 5], [9, 7]], expect_idx=[[5, 6], [9, 14]])
    case("max2d_k2s1_arange3x3", "max_pool", "nchw", a9, kernel=2, stride=1,
         expect=[[4, 5], [7, 8]], expect_idx=[[4, 5], [7, 8]])
    case("max2d_k2s2_arange4x4", "max_pool", "nchw", a16, kernel=2,
         expect=[[5, 7], [13, 15]], expect_idx=[[5, 7], [13, 15]])
    case("max2d_k3p1_default_stride_arange4x4", "max_pool", "nchw", a16, kernel=3, padding=1,
         expect=[[5, 7], [13, 15]], expect_idx=[[5, 7], [13, 15]])
    seed5 = lit([[1, 2, 0, 3, 1], [0, 1, 2, 3, 1], [1, 2, 1, 0, 0], [5, 2, 3, 1, 1],
                 [2, 1, 0, 1, 1]])
    case("max2d_k3_ceil_seed5x5", "max_pool", "nchw", seed5, kernel=3, ceil_mode=True,
         expect=[[2, 3], [5, 1]])
    # The worked examples of the max rule (docs/semantics.md).
    case("max2d_k3s1p1_padding_is_not_zero", "max_pool", "nchw", -a19, kernel=3, stride=1,
         padding=1, expect=[[-1, -1, -2], [-1, -1, -2], [-4, -4, -5]])
    # ties: strict '>' so the first maximum wins, and the sign of zero is kept
    case("max2d_k2_signed_zero_ties", "max_pool", "nchw",
         lit([[0.0, -0.0, -0.0, 0.0], [-0.0, 0.0, 0.0, -0.0]]), kernel=2,
         expect=[[0.0, -0.0]], expect_idx=[[0, 2]])
    case("max2d_k3s2p1_all_neginf", "max_pool", "nchw", np.full((1, 1, 3, 3), -INF, np.float32),
         kernel=3, stride=2, padding=1, expect=[[-INF, -INF], [-INF, -INF]],
         expect_idx=[[0, 1], [3, 4]])
    # Random inputs with NaN / inf / ties / -0.0.
    case("max2d_k3s2p1_n2c3_special", "max_pool", "nchw", special((2, 3, 13, 13), 101),
         kernel=3, stride=2, padding=1)
    case("max2d_k3s2p1_ceil_n2c17_special_nhwc", "max_pool", "nhwc", special((2, 17, 9, 11), 102),
         kernel=3, stride=2, padding=1, ceil_mode=True)
    case("max2d_k2x3_s1x2_p1x0_c5_special", "max_pool", "nchw", special((1, 5, 7, 8), 103),
         kernel=[2, 3], stride=[1, 2], padding=[1, 0])
    case("max2d_k2x3_s1x2_p1x0_c5_special_nhwc", "max_pool", "nhwc", special((1, 5, 7, 8), 104),
         kernel=[2, 3], stride=[1, 2], padding=[1, 0])
    case("max2d_k3s1p1_d2_c3_normal", "max_pool", "nchw", normal((1, 3, 9, 10), 105),
         kernel=3, stride=1, padding=1, dilation=2)
    case("max2d_k3x2_s2x1_p1x1_d2x3_c5_special_nhwc", "max_pool", "nhwc",
         special((2, 5, 11, 9), 106), kernel=[3, 2], stride=[2, 1], padding=[1, 1],
         dilation=[2, 3])
    # ceil drop rule in H (n=5,k=2,s=3,p=1 -> formula 3, last window starts in padding -> 2);
    # in W (n=7): formula 4, (4-1)*3=9 >= 7+1 -> 3 (same as floor mode).
    y, _ = case("max2d_k2s3p1_ceil_drop_c3_special", "max_pool", "nchw",
                special((1, 3, 5, 7), 107), kernel=2, stride=3, padding=1, ceil_mode=True)
    assert y.shape == (1, 3, 2, 3), y.shape
    case("max2d_k2s2_c16_normal_noidx_nhwc", "max_pool", "nhwc", normal((1, 16, 6, 6), 109),
         kernel=2, return_indices=False)
    # ceil_mode DOES let the (effective) kernel exceed the padded input by up to s-1:
    # n=2,k=3,s=3,ceil -> o = floor((2-3+2)/3)+1 = 1, window [0,3) holds the 2 real rows.
    case("max2d_k3_ceil_kernel_exceeds_input2x2", "max_pool", "nchw", lit([[1, 2], [3, 4]]),
         kernel=3, ceil_mode=True, expect=[[4]], expect_idx=[[3]])
    # window dilated past the input: n=4,k=2,d=4 (effective 5),s=2,ceil -> o=1, taps 0 and 4
    case("max2d_k2_d4_s2_ceil_dilated_kernel_exceeds_input", "max_pool", "nchw",
         lit([[5, 1, 7, 2], [3, 8, 0, 6]]), kernel=2, stride=2, dilation=[1, 4], ceil_mode=True,
         expect=[[5]], expect_idx=[[0]])
    # window entirely in padding (dilation): H n=3,k=2,d=4,p=1 -> taps -1 and 3.
    # PyTorch returns -inf; its index is meaningless (past the row end), so no indices saved.
    case("max2d_k2p1_d4_window_all_padding", "max_pool", "nchw", special((1, 2, 3, 5), 110),
         kernel=2, stride=1, padding=1, dilation=[4, 1], return_indices=False,
         expect=np.full((1, 2, 1, 6), -INF, np.float32))

    # ---------------------------------------------------------------- max_pool 1D
    case("max1d_k3s1_nan_last_wins", "max_pool", "nchw", lit([1, NAN, 3, NAN, 2]),
         kernel=3, stride=1, expect=[NAN, NAN, NAN], expect_idx=[1, 3, 3])
    case("max1d_k3s2p1_d2_example", "max_pool", "nchw", lit([3, 1, 4, 1, 5, 9, 2]),
         kernel=3, stride=2, padding=1, dilation=2, expect=[1, 9, 9], expect_idx=[1, 5, 5])
    y, _ = case("max1d_k3s1p1_d2_n9_n2c3_special", "max_pool", "nchw", special((2, 3, 9), 111),
                kernel=3, stride=1, padding=1, dilation=2)
    assert y.shape[-1] == 7
    case("max1d_k2s1p1_d4_window_all_padding", "max_pool", "nchw", lit([1, 2, 3]),
         kernel=2, stride=1, padding=1, dilation=4, return_indices=False, expect=[-INF])
    case("max1d_k4s2p2_ceil_n2c5_special_nhwc", "max_pool", "nhwc", special((2, 5, 11), 112),
         kernel=4, stride=2, padding=2, ceil_mode=True)
    case("max1d_k7s4_ceil_kernel_exceeds_input", "max_pool", "nchw", lit([0, 1, 2, 3, 4]),
         kernel=7, stride=4, ceil_mode=True, expect=[4], expect_idx=[4])

    # ---------------------------------------------------------------- max_pool 3D
    case("max3d_k2s2_c3_special", "max_pool", "nchw", special((1, 3, 5, 6, 7), 121), kernel=2)
    case("max3d_k2x3x3_s1x2x2_p1x1x0_ceil_n2c5_special_nhwc", "max_pool", "nhwc",
         special((2, 5, 4, 7, 6), 122), kernel=[2, 3, 3], stride=[1, 2, 2],
         padding=[1, 1, 0], ceil_mode=True)
    case("max3d_k3_ceil_kernel_exceeds_input2x2x2", "max_pool", "nchw",
         np.arange(8, dtype=np.float32).reshape(1, 1, 2, 2, 2), kernel=3, ceil_mode=True,
         expect=[7], expect_idx=[7])
    case("max3d_k2s1_d2x1x3_c3_normal", "max_pool", "nchw", normal((1, 3, 5, 4, 7), 123),
         kernel=2, stride=1, dilation=[2, 1, 3])

    # ---------------------------------------------------------------- avg_pool 2D
    case("avg2d_k2s1_arange3x3", "avg_pool", "nchw", a9, kernel=2, stride=1,
         expect=[[2, 3], [5, 6]])
    case("avg2d_k2s2_ceil_ones5x5", "avg_pool", "nchw", np.ones((1, 1, 5, 5), np.float32),
         kernel=2, ceil_mode=True, expect=np.ones((3, 3)))
    r0 = [4 / 9, 6 / 9, 6 / 9, 3 / 9]
    y, _ = case("avg2d_k3s2p1_ceil_ones6x6_cip", "avg_pool", "nchw",
                np.ones((1, 1, 6, 6), np.float32), kernel=3, stride=2, padding=1,
                ceil_mode=True, count_include_pad=True)
    assert np.allclose(y[0, 0, 0], r0, atol=1e-6, rtol=0) and y[0, 0, 3, 3] == 0.25, y
    case("avg2d_k3s2p1_ceil_ones6x6_nocip", "avg_pool", "nchw", np.ones((1, 1, 6, 6), np.float32),
         kernel=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False,
         expect=np.ones((4, 4)))
    case("avg2d_k2s2_ceil_1to9", "avg_pool", "nchw", a19, kernel=2, ceil_mode=True,
         expect=[[3, 4.5], [7.5, 9]])
    case("avg2d_k3s2p1_ceil_div2_ones5x5", "avg_pool", "nchw", np.ones((1, 1, 5, 5), np.float32),
         kernel=3, stride=2, padding=1, ceil_mode=True, divisor_override=2,
         expect=[[2, 3, 2], [3, 4.5, 3], [2, 3, 2]])
    # NaN propagates; +inf and -inf in one window give NaN; one inf gives inf
    case("avg2d_k2s2_nan_inf", "avg_pool", "nchw",
         lit([[INF, -INF, INF, 1], [1, 2, 2, 3], [NAN, 0, -INF, 5], [1, 1, 7, 7]]), kernel=2,
         expect=[[NAN, INF], [NAN, -INF]])
    case("avg2d_k3s2p1_n2c17_ints_nhwc", "avg_pool", "nhwc", ints((2, 17, 9, 9), 131),
         kernel=3, stride=2, padding=1)
    case("avg2d_k2x3_s1x2_p1x0_nocip_c5_ints", "avg_pool", "nchw", ints((1, 5, 6, 9), 132),
         kernel=[2, 3], stride=[1, 2], padding=[1, 0], count_include_pad=False)
    case("avg2d_k2x3_s1x2_p1x0_ceil_c5_ints_nhwc", "avg_pool", "nhwc", ints((1, 5, 6, 9), 133),
         kernel=[2, 3], stride=[1, 2], padding=[1, 0], ceil_mode=True)
    case("avg2d_k3s2p1_div5_nocip_c3_ints", "avg_pool", "nchw", ints((1, 3, 7, 8), 134),
         kernel=3, stride=2, padding=1, count_include_pad=False, divisor_override=5)
    case("avg2d_k3s2p1_ceil_divneg3_c3_ints_nhwc", "avg_pool", "nhwc", ints((1, 3, 8, 7), 135),
         kernel=3, stride=2, padding=1, ceil_mode=True, divisor_override=-3)
    case("avg2d_k3p1_input2x2", "avg_pool", "nchw", lit([[1, 2], [3, 4]]), kernel=3, padding=1,
         expect=[[10 / 9]], atol=1e-6)
    # ceil rescue for avg: window [0,3) clipped to the padded input [0,2): divisor 2*2
    case("avg2d_k3_ceil_kernel_exceeds_input2x2", "avg_pool", "nchw", lit([[1, 2], [3, 4]]),
         kernel=3, ceil_mode=True, expect=[[2.5]])

    # ---------------------------------------------------------------- avg_pool 1D
    case("avg1d_k3s2p1_cip_1to5", "avg_pool", "nchw", lit([1, 2, 3, 4, 5]),
         kernel=3, stride=2, padding=1, expect=[1, 3, 3])
    case("avg1d_k3s2p1_nocip_1to5", "avg_pool", "nchw", lit([1, 2, 3, 4, 5]),
         kernel=3, stride=2, padding=1, count_include_pad=False, expect=[1.5, 3, 4.5])
    case("avg1d_k4s3p2_ceil_n2c5_ints_nhwc", "avg_pool", "nhwc", ints((2, 5, 13), 141),
         kernel=4, stride=3, padding=2, ceil_mode=True)
    case("avg1d_k7s4_ceil_kernel_exceeds_input", "avg_pool", "nchw", lit([0, 1, 2, 3, 4]),
         kernel=7, stride=4, ceil_mode=True, expect=[2])
    case("avg1d_k2s3p1_ceil_nocip_c3_ints", "avg_pool", "nchw", ints((1, 3, 5), 142),
         kernel=2, stride=3, padding=1, ceil_mode=True, count_include_pad=False)

    # ---------------------------------------------------------------- avg_pool 3D
    case("avg3d_k2s2_c3_ints", "avg_pool", "nchw", ints((1, 3, 4, 6, 5), 151), kernel=2)
    case("avg3d_k2x3x2_s2x2x1_p1x1x0_ceil_nocip_c3_ints_nhwc", "avg_pool", "nhwc",
         ints((2, 3, 5, 7, 4), 152), kernel=[2, 3, 2], stride=[2, 2, 1], padding=[1, 1, 0],
         ceil_mode=True, count_include_pad=False)
    case("avg3d_k3s2p1_div7_c5_ints", "avg_pool", "nchw", ints((1, 5, 5, 5, 6), 153),
         kernel=3, stride=2, padding=1, divisor_override=7)

    # ---------------------------------------------------------------- adaptive max
    case("amax1d_7to3_example", "adaptive_max_pool", "nchw", lit([1, 5, 5, 2, 7, 0, 3]),
         output_size=3, expect=[5, 7, 7], expect_idx=[1, 4, 4])
    case("amax1d_13to7_n2c5_special_nhwc", "adaptive_max_pool", "nhwc", special((2, 5, 13), 161),
         output_size=7)
    case("amax2d_13x7to7x3_c3_special", "adaptive_max_pool", "nchw", special((1, 3, 13, 7), 162),
         output_size=[7, 3])
    case("amax2d_5x3to3x5_n2c17_special_nhwc", "adaptive_max_pool", "nhwc",
         special((2, 17, 5, 3), 163), output_size=[3, 5])
    case("amax2d_7x7to3x3_c5_normal_noidx", "adaptive_max_pool", "nchw",
         normal((1, 5, 7, 7), 164), output_size=3, return_indices=False)
    case("amax3d_7x5x6to3x3x4_c3_special", "adaptive_max_pool", "nchw",
         special((1, 3, 7, 5, 6), 165), output_size=[3, 3, 4])
    case("amax3d_3x5x4to5x3x2_c5_special_nhwc", "adaptive_max_pool", "nhwc",
         special((1, 5, 3, 5, 4), 166), output_size=[5, 3, 2])

    # ---------------------------------------------------------------- adaptive avg
    case("aavg1d_7to3_arange", "adaptive_avg_pool", "nchw", lit(list(range(7))),
         output_size=3, expect=[1, 3, 5])
    case("aavg1d_3to5_upsample", "adaptive_avg_pool", "nchw", lit([10, 20, 30]),
         output_size=5, expect=[10, 15, 20, 25, 30])
    case("aavg1d_13to7_c5_ints_nhwc", "adaptive_avg_pool", "nhwc", ints((2, 5, 13), 171),
         output_size=7)
    case("aavg2d_13x7to7x3_c3_ints", "adaptive_avg_pool", "nchw", ints((1, 3, 13, 7), 172),
         output_size=[7, 3])
    case("aavg2d_5x3to3x5_n2c17_ints_nhwc", "adaptive_avg_pool", "nhwc", ints((2, 17, 5, 3), 173),
         output_size=[3, 5])
    case("aavg2d_9x10to4x4_c5_normal_nhwc", "adaptive_avg_pool", "nhwc",
         normal((1, 5, 9, 10), 174), output_size=4)
    case("aavg2d_6x6to4x4_c3_special", "adaptive_avg_pool", "nchw", special((1, 3, 6, 6), 175),
         output_size=4)
    case("aavg3d_7x5x4to3x3x5_c3_ints_nhwc", "adaptive_avg_pool", "nhwc",
         ints((1, 3, 7, 5, 4), 176), output_size=[3, 3, 5])

    # ---------------------------------------------------------------- global
    g = special((1, 64, 7, 7), 181)
    g[0, 0] = 3.0                      # all-equal plane: first element wins
    g[0, 1] = -INF                     # all -inf: index 0
    g[0, 2] = 1.0
    g[0, 2, 2, 3] = NAN
    g[0, 2, 5, 1] = NAN                # two NaNs: the last one (5*7+1 = 36) wins
    y, idx = case("gmax2d_7x7_c64_special", "global_max_pool", "nchw", g)
    assert y[0, 0, 0, 0] == 3 and idx[0, 0, 0, 0] == 0
    assert y[0, 1, 0, 0] == -INF and idx[0, 1, 0, 0] == 0
    assert np.isnan(y[0, 2, 0, 0]) and idx[0, 2, 0, 0] == 36
    case("gmax2d_5x6_n2c17_special_nhwc", "global_max_pool", "nhwc", special((2, 17, 5, 6), 182))
    case("gmax1d_11_c5_special_nhwc", "global_max_pool", "nhwc", special((2, 5, 11), 183))
    case("gmax3d_3x4x5_c3_special", "global_max_pool", "nchw", special((1, 3, 3, 4, 5), 184))
    case("gavg2d_nin_1x10x5x5_normal", "global_avg_pool", "nchw", normal((1, 10, 5, 5), 185))
    case("gavg2d_resnet_1x512x7x7_ints_nhwc", "global_avg_pool", "nhwc", ints((1, 512, 7, 7), 186))
    case("gavg1d_13_c3_ints", "global_avg_pool", "nchw", ints((2, 3, 13), 187))
    case("gavg3d_4x5x3_c5_normal_nhwc", "global_avg_pool", "nhwc", normal((1, 5, 4, 5, 3), 188))

    # ---------------------------------------------------------------- lp pool (PyTorch's LPPool)
    # x itself to the power p; a window overhanging the input (ceil_mode) scaled by kernel/clipped.
    x5 = lit([1, -2, 3, -4, 5])
    case("lp1d_p1_k2s2_ceil_example", "lp_pool", "nchw", x5, p=1, kernel=2, ceil_mode=True,
         expect=[-1, -1, 10])
    y, _ = case("lp1d_p3_k2s2_ceil_negative_sums", "lp_pool", "nchw", x5, p=3, kernel=2, ceil_mode=True)
    assert np.isnan(y[0, 0, 0]) and np.isnan(y[0, 0, 1]) and abs(y[0, 0, 2] - 250 ** (1 / 3)) < 1e-5, y
    case("lp1d_p2_k4s3_ceil_n2c5_ints_nhwc", "lp_pool", "nhwc", ints((2, 5, 13), 191), p=2,
         kernel=4, stride=3, ceil_mode=True)
    case("lp2d_p2_k3s2_ceil_n2c5_ints", "lp_pool", "nchw", ints((2, 5, 11, 10), 192), p=2,
         kernel=3, stride=2, ceil_mode=True)
    case("lp2d_p2_k3s2_ceil_n2c17_ints_nhwc", "lp_pool", "nhwc", ints((2, 17, 9, 9), 193), p=2,
         kernel=3, stride=2, ceil_mode=True)
    case("lp2d_p3_k2x3_s2x1_c3_normal", "lp_pool", "nchw", normal((1, 3, 8, 9), 194), p=3,
         kernel=[2, 3], stride=[2, 1])
    case("lp2d_p4_k2_c5_ints_nhwc", "lp_pool", "nhwc", ints((1, 5, 6, 7), 195), p=4, kernel=2)
    case("lp2d_p2_k2_special", "lp_pool", "nchw", special((1, 3, 6, 8), 196), p=2, kernel=2)
    case("lp3d_p2_k2_c3_ints", "lp_pool", "nchw", ints((1, 3, 4, 6, 5), 197), p=2, kernel=2)
    case("lp3d_p1_k2x3x2_s1x2x2_ceil_c5_ints_nhwc", "lp_pool", "nhwc", ints((1, 5, 4, 7, 5), 198),
         p=1, kernel=[2, 3, 2], stride=[1, 2, 2], ceil_mode=True)
    # Global Lp pooling: lp_pool with the whole plane as the kernel.
    case("glp2d_p2_7x7_c5_ints", "global_lp_pool", "nchw", ints((1, 5, 7, 7), 199), p=2)
    case("glp2d_p3_5x6_n2c17_normal_nhwc", "global_lp_pool", "nhwc", normal((2, 17, 5, 6), 200), p=3)
    case("glp1d_p1_13_c3_ints", "global_lp_pool", "nchw", ints((2, 3, 13), 201), p=1)
    case("glp3d_p2_3x4x5_c3_normal", "global_lp_pool", "nchw", normal((1, 3, 3, 4, 5), 202), p=2)


# ============================================================================ f16 and bf16 cases

# PyTorch's CPU has no f16/bf16 avg_pool3d ("avg_pool3d_out_frame" not implemented for 'Half' /
# 'BFloat16'), so there are no PyTorch numbers for avg_pool 3D, nor for lp_pool 3D and
# global_lp_pool 3D (both are avg_pool3d). check_missing_kernels() asserts that it still lacks them.
MISSING_3D = ("avg_pool", "lp_pool", "global_lp_pool")


def typed_cases(dtype, seed):
    """The same set of cases for f16 and for bf16 (names ending in _<dtype>): every op, in every
    rank PyTorch's CPU has for the type, both layouts. Inputs: `special` (NaN, +-inf, ties, -0),
    `normal` floats rounded to the type, or small integers."""
    sfx = "_" + dtype

    def c(name, op, layout, x, **params):
        assert not (op in MISSING_3D and x.ndim == 5), name
        return case(name + sfx, op, layout, x, dtype=dtype, **params)

    # ---------------------------------------------------------------- max_pool
    c("max2d_k3s2p1_ceil_n2c17_special_nhwc", "max_pool", "nhwc", special((2, 17, 9, 11), seed + 1),
      kernel=3, stride=2, padding=1, ceil_mode=True)
    c("max2d_k3s1p1_d2_c3_normal", "max_pool", "nchw", normal((1, 3, 9, 10), seed + 2),
      kernel=3, stride=1, padding=1, dilation=2)
    c("max1d_k4s2p2_ceil_n2c5_special", "max_pool", "nchw", special((2, 5, 11), seed + 3),
      kernel=4, stride=2, padding=2, ceil_mode=True)
    c("max3d_k2x3x3_s1x2x2_p1x1x0_ceil_c5_special_nhwc", "max_pool", "nhwc",
      special((1, 5, 4, 7, 6), seed + 4), kernel=[2, 3, 3], stride=[1, 2, 2], padding=[1, 1, 0],
      ceil_mode=True)
    c("max3d_k2s2_c3_normal_noidx", "max_pool", "nchw", normal((1, 3, 5, 6, 7), seed + 5),
      kernel=2, return_indices=False)

    # ---------------------------------------------------------------- avg_pool (1D and 2D only)
    c("avg2d_k3s2p1_n2c17_normal_nhwc", "avg_pool", "nhwc", normal((2, 17, 9, 9), seed + 6),
      kernel=3, stride=2, padding=1)
    c("avg2d_k2x3_s1x2_p1x0_nocip_c5_normal", "avg_pool", "nchw", normal((1, 5, 6, 9), seed + 7),
      kernel=[2, 3], stride=[1, 2], padding=[1, 0], count_include_pad=False)
    c("avg2d_k3s2p1_ceil_div5_c3_special", "avg_pool", "nchw", special((1, 3, 7, 8), seed + 8),
      kernel=3, stride=2, padding=1, ceil_mode=True, divisor_override=5)
    c("avg1d_k4s3p2_ceil_nocip_n2c5_normal_nhwc", "avg_pool", "nhwc", normal((2, 5, 13), seed + 9),
      kernel=4, stride=3, padding=2, ceil_mode=True, count_include_pad=False)
    c("avg1d_k3s2p1_c3_special", "avg_pool", "nchw", special((1, 3, 12), seed + 10),
      kernel=3, stride=2, padding=1)

    # ---------------------------------------------------------------- adaptive max
    c("amax1d_13to7_n2c5_special_nhwc", "adaptive_max_pool", "nhwc", special((2, 5, 13), seed + 11),
      output_size=7)
    c("amax2d_13x7to7x3_c3_special", "adaptive_max_pool", "nchw", special((1, 3, 13, 7), seed + 12),
      output_size=[7, 3])
    c("amax3d_7x5x6to3x3x4_c3_normal_nhwc", "adaptive_max_pool", "nhwc",
      normal((1, 3, 7, 5, 6), seed + 13), output_size=[3, 3, 4])

    # ---------------------------------------------------------------- adaptive avg (uneven windows)
    c("aavg1d_13to7_c5_normal", "adaptive_avg_pool", "nchw", normal((2, 5, 13), seed + 14),
      output_size=7)
    c("aavg2d_9x10to4x4_c5_normal_nhwc", "adaptive_avg_pool", "nhwc",
      normal((1, 5, 9, 10), seed + 15), output_size=4)
    c("aavg2d_6x6to4x4_c3_special", "adaptive_avg_pool", "nchw", special((1, 3, 6, 6), seed + 16),
      output_size=4)
    # 3D, not 1x1x1: PyTorch's CPU sums in the element type, rounding every addition.
    c("aavg3d_7x5x4to3x3x5_c3_normal_nhwc", "adaptive_avg_pool", "nhwc",
      normal((1, 3, 7, 5, 4), seed + 17), output_size=[3, 3, 5])

    # ---------------------------------------------------------------- global max / avg
    c("gmax2d_7x7_c64_special", "global_max_pool", "nchw", special((1, 64, 7, 7), seed + 18))
    c("gmax1d_11_c5_special_nhwc", "global_max_pool", "nhwc", special((2, 5, 11), seed + 19))
    c("gmax3d_3x4x5_c3_special_nhwc", "global_max_pool", "nhwc",
      special((1, 3, 3, 4, 5), seed + 20))
    c("gavg2d_1x512x7x7_normal_nhwc", "global_avg_pool", "nhwc", normal((1, 512, 7, 7), seed + 21))
    c("gavg1d_13_c3_normal", "global_avg_pool", "nchw", normal((2, 3, 13), seed + 22))
    c("gavg3d_4x5x3_c5_normal_nhwc", "global_avg_pool", "nhwc", normal((1, 5, 4, 5, 3), seed + 23))

    # ---------------------------------------------------------------- lp pool (1D and 2D only)
    c("lp1d_p2_k4s3_ceil_n2c5_normal_nhwc", "lp_pool", "nhwc", normal((2, 5, 13), seed + 24), p=2,
      kernel=4, stride=3, ceil_mode=True)
    c("lp2d_p3_k2x3_s2x1_c3_normal_nhwc", "lp_pool", "nhwc", normal((1, 3, 8, 9), seed + 25), p=3,
      kernel=[2, 3], stride=[2, 1])
    c("lp2d_p4_k3s2_ceil_c5_normal", "lp_pool", "nchw", normal((1, 5, 11, 10), seed + 26), p=4,
      kernel=3, stride=2, ceil_mode=True)
    c("lp2d_p2_k2_special", "lp_pool", "nchw", special((1, 3, 6, 8), seed + 27), p=2, kernel=2)
    c("glp2d_p2_7x7_c5_normal", "global_lp_pool", "nchw", normal((1, 5, 7, 7), seed + 28), p=2)
    c("glp1d_p3_13_c3_normal_nhwc", "global_lp_pool", "nhwc", normal((2, 3, 13), seed + 29), p=3)


def typed_examples():
    """Worked examples of where f16/bf16 results round (docs/semantics.md): averages sum in
    float32 and round once, except PyTorch's CPU adaptive_avg_pool3d (not 1x1x1), which sums in
    the element type."""
    big = [65504, 65504, 60000, 8000]   # f16's largest finite value twice; 68000 > 65504
    # float32 sums, one rounding: [65504, 33984] (68000 / 2 = 34000 rounds to 33984 in f16)
    case("aavg1d_4to2_sum_beyond_f16_max_f16", "adaptive_avg_pool", "nchw", lit(big),
         output_size=2, dtype="f16", expect=[65504, 33984])
    case("avg1d_k2_sum_beyond_f16_max_f16", "avg_pool", "nchw", lit(big), kernel=2, dtype="f16",
         expect=[65504, 33984])
    # the same windows in 3D: the f16 sums overflow to +inf
    case("aavg3d_4x1x1to2x1x1_sum_overflows_f16", "adaptive_avg_pool", "nchw",
         np.array(big, np.float32).reshape(1, 1, 4, 1, 1), output_size=[2, 1, 1], dtype="f16",
         expect=[INF, INF])
    # 1 and eight halves of its ulp: each addition in the type rounds (ties to even) back to 1,
    # so the 3D sum is 1 (1/9 rounded); in float32 it is 1 + 8 half-ulps, then one rounding.
    for dtype, half_ulp in (("f16", 2.0 ** -11), ("bf16", 2.0 ** -8)):
        col = [1.0] + [half_ulp] * 8
        want = float(torch.tensor(1 / 9, dtype=TORCH_DTYPE[dtype]).float())
        case(f"aavg3d_18x1x1to2x1x1_half_ulps_{dtype}", "adaptive_avg_pool", "nchw",
             np.array(col * 2, np.float32).reshape(1, 1, 18, 1, 1), output_size=[2, 1, 1],
             dtype=dtype, expect=[want, want])
        exact = float(torch.tensor((1 + 8 * half_ulp) / 9, dtype=TORCH_DTYPE[dtype]).float())
        assert exact != want, (dtype, exact, want)  # a float32 sum would give another value
        case(f"aavg1d_18to2_half_ulps_{dtype}", "adaptive_avg_pool", "nchw", lit(col * 2),
             output_size=2, dtype=dtype, expect=[exact, exact])


# ============================================================================ u8 and i8 cases

# poolgen's u8/i8 kernels pool the integer codes of PyTorch's quint8/qint8 tensors. PyTorch picks
# its quantized kernel from the strides (channels-last when the tensor is channels-last
# contiguous), so an nhwc case runs PyTorch on a channels-last tensor and an nchw case on a
# contiguous one. PyTorch has no quantized adaptive max pool and no indices for quantized max
# pools: poolgen applies the max rule to the codes there, and those cases have no fixtures.
QUANT = {"u8": (torch.quint8, torch.uint8, np.uint8, 0, 255), "i8": (torch.qint8, torch.int8, np.int8, -128, 127)}


def codes(shape, seed, dtype):
    _, _, npt, lo, hi = QUANT[dtype]
    rng = np.random.default_rng(seed)
    return rng.integers(lo, hi + 1, size=shape).astype(npt)


def quantized_tensor(q, dtype, zero_point, scale, layout):
    """Logical codes `q` (N,C,spatial...) as a per-tensor quantized tensor laid out as `layout`:
    nhwc is channels-last in memory (1D: (N,L,C) in memory, PyTorch's 1D ops unsqueeze it)."""
    qdt, idt, _, _, _ = QUANT[dtype]
    mem = torch.from_numpy(np.ascontiguousarray(to_memory(q, layout))).to(idt)
    nd = q.ndim - 2
    if layout == "nhwc":
        mem = mem.permute(0, nd + 1, *range(1, nd + 1))  # a logical view of channels-last memory
    t = torch._make_per_tensor_quantized_tensor(mem, scale, zero_point)
    assert np.array_equal(t.int_repr().numpy(), q)
    if layout == "nhwc" and nd > 1:
        assert t.is_contiguous(memory_format=torch.channels_last if nd == 2 else torch.channels_last_3d)
    return t


def quantized_case(name, op, layout, q, zero_point, dtype, expect=None, **params):
    """One u8/i8 case: PyTorch's quantized op on the codes `q` with `zero_point`. The result codes
    must not depend on the scale: the op also runs at two other scales and must agree."""
    assert name.endswith("_" + dtype) and dtype in QUANT, name
    assert name not in {k["name"] for k in VALID}, name
    q = np.asarray(q, dtype=QUANT[dtype][2])
    e = entry(name, op, layout, q.shape, dtype=dtype, return_indices=False, **params)
    e["zero_point"] = int(zero_point)
    results = []
    for scale in (0.05, 1.0, 3.7):
        yt, idx = torch_run(e, quantized_tensor(q, dtype, zero_point, scale, layout))
        assert idx is None and yt.is_quantized and yt.q_zero_point() == zero_point and yt.q_scale() == scale, name
        results.append(yt.int_repr().contiguous().numpy())
    assert all(np.array_equal(results[0], r) for r in results[1:]), (name, "codes depend on the scale")
    y = results[0]
    if expect is not None:
        ex = np.asarray(expect).reshape(y.shape)
        assert np.array_equal(y, ex), (name, y, ex)
    save(name + ".input", to_memory(q, layout))
    save(name + ".output", to_memory(y, layout))
    VALID.append(e)
    return y


def quantized_cases(dtype, seed):
    """The same set of cases for u8 and i8: every op PyTorch has in quantized form (max, avg,
    adaptive avg, global avg; global max runs as max_pool with the whole plane as its kernel is
    not the same op, so it is left to the differential tests), every rank, both layouts, the
    zero point at 0, inside and at the type's ends, and the parameters that change the divisor."""
    lo, hi = QUANT[dtype][3], QUANT[dtype][4]
    mid = (lo + hi + 1) // 2

    def c(name, op, layout, shape, zp, **params):
        return quantized_case(f"{name}_{dtype}", op, layout, codes(shape, seed + len(VALID), dtype), zp, dtype, **params)

    c("qmax2d_k3s2p1_ceil_n2c5", "max_pool", "nchw", (2, 5, 9, 11), 0, kernel=3, stride=2, padding=1, ceil_mode=True)
    c("qmax2d_k3s1p1_d2_c17_nhwc", "max_pool", "nhwc", (1, 17, 9, 10), mid, kernel=3, stride=1, padding=1, dilation=2)
    c("qmax1d_k4s2p2_ceil_c3", "max_pool", "nchw", (2, 3, 11), 3, kernel=4, stride=2, padding=2, ceil_mode=True)
    c("qmax1d_k3s2p1_c6_nhwc", "max_pool", "nhwc", (1, 6, 12), 3, kernel=3, stride=2, padding=1)
    c("qmax3d_k2x3x3_s1x2x2_p1x1x0_ceil_nhwc", "max_pool", "nhwc", (1, 5, 4, 7, 6), lo,
      kernel=[2, 3, 3], stride=[1, 2, 2], padding=[1, 1, 0], ceil_mode=True)
    c("qmax3d_k2s2_c3", "max_pool", "nchw", (1, 3, 5, 6, 7), hi, kernel=2)
    # avg_pool: count_include_pad on and off, divisor_override (negative too), ceil_mode; odd zero
    # points make the two kernels' roundings differ on ties.
    c("qavg2d_k3s2p1_c5", "avg_pool", "nchw", (2, 5, 9, 11), 3, kernel=3, stride=2, padding=1)
    c("qavg2d_k3s2p1_c5_nhwc", "avg_pool", "nhwc", (2, 5, 9, 11), 3, kernel=3, stride=2, padding=1)
    c("qavg2d_k2s1p1_xpad_c4", "avg_pool", "nchw", (1, 4, 7, 8), 3, kernel=2, stride=1, padding=1, count_include_pad=False)
    c("qavg2d_k2s1p1_xpad_c4_nhwc", "avg_pool", "nhwc", (1, 4, 7, 8), 3, kernel=2, stride=1, padding=1,
      count_include_pad=False)
    c("qavg2d_k2s1p1_xpad_c1", "avg_pool", "nchw", (1, 1, 7, 8), 3, kernel=2, stride=1, padding=1, count_include_pad=False)
    c("qavg2d_k3s2p1_ceil_div_m3_c3", "avg_pool", "nchw", (1, 3, 10, 10), mid, kernel=3, stride=2, padding=1,
      ceil_mode=True, divisor_override=-3)
    c("qavg2d_k3s3_div5_c16_nhwc", "avg_pool", "nhwc", (1, 16, 9, 9), hi, kernel=3, stride=3, divisor_override=5)
    c("qavg1d_k4s3p2_ceil_c6", "avg_pool", "nchw", (2, 6, 20), lo, kernel=4, stride=3, padding=2, ceil_mode=True)
    c("qavg1d_k2s1p1_xpad_c5_nhwc", "avg_pool", "nhwc", (1, 5, 9), 3, kernel=2, stride=1, padding=1, count_include_pad=False)
    c("qavg3d_k3s2p1_c3", "avg_pool", "nchw", (1, 3, 6, 7, 5), 5, kernel=3, stride=2, padding=1)
    c("qavg3d_k2s1p1_xpad_ceil_c4_nhwc", "avg_pool", "nhwc", (1, 4, 5, 6, 5), 3, kernel=2, stride=1, padding=1,
      count_include_pad=False, ceil_mode=True)
    # adaptive and global averages
    c("qaavg2d_13x11to5x3_c6", "adaptive_avg_pool", "nchw", (2, 6, 13, 11), mid, output_size=[5, 3])
    c("qaavg2d_13x11to5x3_c6_nhwc", "adaptive_avg_pool", "nhwc", (2, 6, 13, 11), mid, output_size=[5, 3])
    c("qaavg2d_7x10to1x1_c2", "adaptive_avg_pool", "nchw", (1, 2, 7, 10), 0, output_size=[1, 1])
    c("qaavg1d_20to6_c4", "adaptive_avg_pool", "nchw", (1, 4, 20), 3, output_size=6)
    c("qaavg1d_20to6_c4_nhwc", "adaptive_avg_pool", "nhwc", (1, 4, 20), 3, output_size=6)
    c("qaavg3d_5x7x6to2x3x4_c4", "adaptive_avg_pool", "nchw", (1, 4, 5, 7, 6), 7, output_size=[2, 3, 4])
    c("qaavg3d_5x7x6to2x3x4_c4_nhwc", "adaptive_avg_pool", "nhwc", (1, 4, 5, 7, 6), 7, output_size=[2, 3, 4])
    c("qgavg2d_7x7_c64", "global_avg_pool", "nchw", (1, 64, 7, 7), mid)
    c("qgavg2d_7x7_c64_nhwc", "global_avg_pool", "nhwc", (1, 64, 7, 7), mid)
    c("qgavg1d_9_c3_nhwc", "global_avg_pool", "nhwc", (2, 3, 9), 1)
    c("qgavg3d_5x7x6_c4", "global_avg_pool", "nchw", (2, 4, 5, 7, 6), 9)


def quantized_examples():
    """Worked examples of the quantized rules (docs/semantics.md "Eight-bit codes")."""
    # Zero point 3, codes [[10,7,6],[3,3,0]] in two channels, k2 s1 p1, count_include_pad=False.
    two = np.array([[[[10, 7, 6], [3, 3, 0]], [[10, 7, 6], [3, 3, 0]]]], np.uint8)  # C = 2: not channels-last
    y_cf = quantized_case("qavg2d_tie_zp3_cf_u8", "avg_pool", "nchw", two, 3, "u8", kernel=2, stride=1, padding=1,
                          count_include_pad=False)
    y_cl = quantized_case("qavg2d_tie_zp3_cl_u8", "avg_pool", "nhwc", two, 3, "u8", kernel=2, stride=1, padding=1,
                          count_include_pad=False)
    # Output (0,1) averages 10 and 7: S = 17 - 6 = 11, 11/2 = 5.5. Channels-first rounds
    # 5.5 + 3 = 8.5 to 8; channels-last rounds 5.5 to 6 (even), then adds 3: 9.
    assert y_cf[0, 0, 0, 1] == 8 and y_cl[0, 0, 0, 1] == 9, (y_cf, y_cl)
    # The mean of a 7x10 window whose codes sum to 35 is 0.5: the channels-first adaptive kernel
    # multiplies by ((1/7)/10), a little above 1/70, and rounds to 1; the channels-last one
    # multiplies by 1/70 and rounds the tie to 0.
    q = np.zeros((1, 2, 7, 10), np.uint8)
    q[:, :, 0, :5] = 7
    a_cf = quantized_case("qaavg2d_7x10_sum35_cf_u8", "adaptive_avg_pool", "nchw", q, 0, "u8", output_size=[1, 1],
                          expect=[[[[1]], [[1]]]])
    a_cl = quantized_case("qaavg2d_7x10_sum35_cl_u8", "adaptive_avg_pool", "nhwc", q, 0, "u8", output_size=[1, 1],
                          expect=[[[[0]], [[0]]]])
    # Saturation: i8 codes of 127 with zero point -128 divided by -1 (divisor_override) give
    # -(127 + 128) - 128, below the range: -128.
    sat = np.full((1, 2, 2, 2), 127, np.int8)
    quantized_case("qavg2d_saturates_i8", "avg_pool", "nchw", sat, -128, "i8", kernel=2, divisor_override=-1,
                   expect=[[[[-128]], [[-128]]]])


def check_missing_kernels():
    """PyTorch's CPU still has no f16/bf16 avg_pool3d (so no avg_pool 3D or lp_pool 3D cases):
    assert it, so that tests/golden/README.md stays true."""
    for tdt in (torch.float16, torch.bfloat16):
        x = torch.zeros(1, 1, 4, 4, 4, dtype=tdt)
        for what, fn in (("avg_pool3d", lambda: F.avg_pool3d(x, 2)),
                         ("lp_pool3d", lambda: F.lp_pool3d(x, 2, 2))):
            try:
                fn()
            except RuntimeError as err:
                assert "not implemented" in str(err), err
            else:
                raise AssertionError(f"PyTorch {torch.__version__} has a CPU {what} for {tdt}: "
                                     "add f16/bf16 cases for it")


# ============================================================================ invalid cases

INVALID = []

# Max pooling with dilation and p > k/2 <= (d(k-1)+1)/2 is NOT recorded: e.g. max_pool2d
# k=3, d=2, p=2 and k=2, d=3, p=2. 1.13 rejects them ("pad should be at most half of kernel
# size"); they were once believed accepted by current PyTorch, whose first pad check uses the
# effective (dilated) kernel, but PyTorch 2.15 refuses them too, in pool2d/pool3d_shape_check on
# the raw kernel (tests/test_spec.cpp pins poolgen's refusal). check_version_differences()
# asserts that 1.13 rejects them; they are left out of invalid.json.
#
# max_pool1d WITHOUT indices and o == 0 returns an empty (N,C,0) tensor in 1.13 instead of
# raising; poolgen treats o == 0 as an error everywhere, so the 1D output-too-small cases
# below use return_indices=true, where PyTorch raises.


def bad(name, field, rule, op, shape, **params):
    assert name.isidentifier() and name == name.lower(), name
    assert name not in {c["kernel"]["name"] for c in INVALID}, name
    e = entry(name, op, "nchw", shape, **params)
    x = torch.from_numpy(ints(tuple(shape), 7))
    try:
        torch_run(e, x)
    except (RuntimeError, ValueError) as err:  # lp_pool's norm_type check is a ValueError
        msg = str(err)
    else:
        raise AssertionError(f"{name}: PyTorch accepted it")
    INVALID.append({"kernel": e, "pytorch_error": msg, "field": field, "rule": rule})


def invalid_cases():
    s2 = (1, 1, 5, 5)
    # 1. divisor_override == 0
    bad("bad_avg2d_divisor0", "divisor_override", "divisor_override must not be 0",
        "avg_pool", s2, kernel=2, divisor_override=0)
    bad("bad_avg3d_divisor0", "divisor_override", "divisor_override must not be 0",
        "avg_pool", (1, 1, 4, 4, 4), kernel=2, divisor_override=0)
    # 2. stride == 0 / padding < 0 / padding > kernel/2
    bad("bad_max2d_stride0", "stride", "stride must not be 0",
        "max_pool", s2, kernel=2, stride=[1, 0])
    bad("bad_avg2d_stride0", "stride", "stride must not be 0",
        "avg_pool", s2, kernel=2, stride=[0, 1])
    bad("bad_max1d_stride0", "stride", "stride must not be 0",
        "max_pool", (1, 1, 5), kernel=2, stride=0)
    bad("bad_max3d_stride0", "stride", "stride must not be 0",
        "max_pool", (1, 1, 4, 4, 4), kernel=2, stride=[1, 1, 0])
    bad("bad_max2d_padding_negative", "padding", "padding must be non-negative",
        "max_pool", s2, kernel=3, padding=[0, -1])
    bad("bad_avg1d_padding_negative", "padding", "padding must be non-negative",
        "avg_pool", (1, 1, 5), kernel=3, padding=-1)
    bad("bad_max2d_padding_over_half_kernel", "padding", "padding must be at most kernel/2",
        "max_pool", s2, kernel=2, padding=2)
    bad("bad_avg2d_padding_over_half_kernel", "padding", "padding must be at most kernel/2",
        "avg_pool", s2, kernel=[3, 2], padding=[1, 2])
    bad("bad_max1d_padding_over_half_kernel_noidx", "padding", "padding must be at most kernel/2",
        "max_pool", (1, 1, 5), kernel=3, padding=2, return_indices=False)
    bad("bad_max3d_padding_over_half_raw_kernel_dilated", "padding",
        "3D: padding must be at most kernel/2 of the RAW kernel, even with dilation",
        "max_pool", (1, 1, 6, 6, 6), kernel=3, stride=1, padding=[2, 0, 0], dilation=2)
    bad("bad_avg3d_padding_over_half_kernel", "padding", "padding must be at most kernel/2",
        "avg_pool", (1, 1, 4, 4, 4), kernel=2, padding=[0, 0, 2])
    # 3. kernel <= 0 (explicit stride, else stride = kernel = 0 fails the stride check first)
    bad("bad_max2d_kernel0", "kernel", "kernel must be > 0",
        "max_pool", s2, kernel=0, stride=1)
    bad("bad_max2d_kernel0_default_stride", "stride",
        "kernel 0 with default stride: stride = 0 is reported first",
        "max_pool", s2, kernel=0)
    bad("bad_avg2d_kernel_negative", "kernel", "kernel must be > 0",
        "avg_pool", s2, kernel=[2, -1], stride=1)
    bad("bad_max1d_kernel0", "kernel", "kernel must be > 0",
        "max_pool", (1, 1, 5), kernel=0, stride=1)
    bad("bad_max1d_kernel0_noidx", "kernel", "kernel must be > 0",
        "max_pool", (1, 1, 5), kernel=0, stride=1, return_indices=False)
    bad("bad_avg1d_kernel0", "kernel", "kernel must be > 0",
        "avg_pool", (1, 1, 5), kernel=0, stride=1)
    bad("bad_max3d_kernel_negative", "kernel", "kernel must be > 0",
        "max_pool", (1, 1, 4, 4, 4), kernel=[2, 2, -1], stride=1)
    # 4. stride < 0
    bad("bad_max2d_stride_negative", "stride", "stride must be > 0",
        "max_pool", s2, kernel=2, stride=-1)
    bad("bad_avg2d_stride_negative", "stride", "stride must be > 0",
        "avg_pool", s2, kernel=2, stride=[1, -2])
    bad("bad_avg3d_stride_negative", "stride", "stride must be > 0",
        "avg_pool", (1, 1, 4, 4, 4), kernel=2, stride=[-1, 1, 1])
    # 5. dilation <= 0
    bad("bad_max2d_dilation0", "dilation", "dilation must be > 0",
        "max_pool", s2, kernel=2, dilation=0)
    bad("bad_max2d_dilation_negative", "dilation", "dilation must be > 0",
        "max_pool", s2, kernel=2, dilation=[1, -1])
    bad("bad_max1d_dilation0", "dilation", "dilation must be > 0",
        "max_pool", (1, 1, 5), kernel=2, dilation=0)
    bad("bad_max3d_dilation0", "dilation", "dilation must be > 0",
        "max_pool", (1, 1, 4, 4, 4), kernel=2, dilation=[1, 0, 1])
    # 7. output size < 1 (attributed to "kernel": the (effective) window does not fit)
    too_small = "output size must be >= 1: the (effective) kernel must fit the padded input"
    bad("bad_max2d_kernel_larger_than_input", "kernel", too_small,
        "max_pool", s2, kernel=6)
    bad("bad_avg2d_kernel_larger_than_input", "kernel", too_small,
        "avg_pool", (1, 1, 3, 5), kernel=[4, 2])
    # ceil_mode adds s-1 before the division, so it does not help with stride 1, nor when
    # the effective kernel exceeds the padded input by s or more (see *_ceil_kernel_exceeds_*
    # in the valid cases for when it does help)
    bad("bad_max2d_ceil_stride1_does_not_rescue", "kernel", too_small + " (ceil_mode, stride 1)",
        "max_pool", (1, 1, 2, 2), kernel=3, stride=1, ceil_mode=True)
    bad("bad_avg2d_ceil_does_not_rescue", "kernel",
        too_small + " (ceil_mode: n=2,k=5,s=2 -> o=0)",
        "avg_pool", (1, 2, 2, 6), kernel=5, stride=2, ceil_mode=True)
    bad("bad_max1d_ceil_does_not_rescue", "kernel",
        too_small + " (ceil_mode: n=5,k=8,s=3 -> o=0)",
        "max_pool", (1, 1, 5), kernel=8, stride=3, ceil_mode=True)
    bad("bad_max2d_dilated_kernel_larger_than_input", "kernel",
        too_small + " (dilation: n=5,k=3,d=3 -> o=-1)",
        "max_pool", s2, kernel=3, stride=1, dilation=3)
    bad("bad_max1d_dilated_kernel_larger_than_input", "kernel",
        too_small + " (dilation: n=5,k=3,d=3 -> o=-1)",
        "max_pool", (1, 3, 5), kernel=3, stride=1, dilation=3)
    bad("bad_max1d_kernel_larger_than_input", "kernel", too_small,
        "max_pool", (1, 1, 4), kernel=5)
    bad("bad_avg1d_kernel_larger_than_input", "kernel", too_small,
        "avg_pool", (1, 1, 4), kernel=5)
    bad("bad_max3d_kernel_larger_than_input", "kernel", too_small,
        "max_pool", (1, 2, 2, 2, 2), kernel=3)
    # avg_pool3d quirk: input must be >= kernel on every dim, before padding
    bad("bad_avg3d_input_smaller_than_kernel", "kernel",
        "avg_pool3d: input must be at least the kernel on every dim (before padding)",
        "avg_pool", (1, 1, 2, 2, 2), kernel=3, padding=1)
    bad("bad_avg3d_input_smaller_than_kernel_ceil", "kernel",
        "avg_pool3d: input must be at least the kernel on every dim, even where ceil_mode "
        "would give an output (max_pool3d accepts this)",
        "avg_pool", (1, 1, 2, 2, 2), kernel=3, ceil_mode=True)
    bad("bad_avg3d_input_smaller_than_kernel_one_dim", "kernel",
        "avg_pool3d: input must be at least the kernel on every dim (before padding)",
        "avg_pool", (1, 1, 4, 4, 2), kernel=3, stride=1, padding=1)
    # lp_pool: norm_type 0; lp_pool3d is an avg_pool3d (input at least the kernel)
    bad("bad_lp2d_p0", "p", "p must not be 0", "lp_pool", s2, kernel=2, p=0)
    bad("bad_lp3d_input_smaller_than_kernel", "kernel",
        "lp_pool3d is avg_pool3d: input must be at least the kernel on every dim",
        "lp_pool", (1, 1, 2, 4, 4), kernel=3, ceil_mode=True, p=2)
    # adaptive: negative output_size
    bad("bad_aavg2d_output_size_negative", "output_size", "output_size must be >= 0",
        "adaptive_avg_pool", s2, output_size=[-1, 2])
    bad("bad_amax2d_output_size_negative", "output_size", "output_size must be >= 0",
        "adaptive_max_pool", s2, output_size=[2, -1])
    bad("bad_aavg1d_output_size_negative", "output_size", "output_size must be >= 0",
        "adaptive_avg_pool", (1, 1, 5), output_size=-2)
    bad("bad_amax1d_output_size_negative", "output_size", "output_size must be >= 0",
        "adaptive_max_pool", (1, 1, 5), output_size=-1)
    bad("bad_aavg3d_output_size_negative", "output_size", "output_size must be >= 0",
        "adaptive_avg_pool", (1, 1, 4, 4, 4), output_size=[1, -1, 1])
    bad("bad_amax3d_output_size_negative", "output_size", "output_size must be >= 0",
        "adaptive_max_pool", (1, 1, 4, 4, 4), output_size=[-3, 1, 1])


# 1.13: "pad should be at most half of kernel size"; 2.x: "... smaller than or equal to half ...".
PAD_HALF = re.compile(r"pad should be (at most|smaller than or equal to) half of kernel size")


def check_version_differences():
    """Dilated max pooling with padding over half the raw kernel: assert PyTorch rejects it (1.13
    and 2.15 both do, with different words), so the note above stays true; recorded nowhere."""
    x = torch.zeros(1, 1, 9, 9)
    for k, d, p in ((3, 2, 2), (2, 3, 2)):
        try:
            F.max_pool2d(x, k, 1, p, d)
        except RuntimeError as err:
            assert PAD_HALF.search(str(err)), err
        else:
            raise AssertionError(f"PyTorch {torch.__version__} accepted max_pool2d k={k} d={d} p={p}")
        try:
            F.max_pool1d(x[0], k, 1, p, d, return_indices=True)
        except RuntimeError as err:
            assert PAD_HALF.search(str(err)), err
        else:
            raise AssertionError(f"PyTorch {torch.__version__} accepted max_pool1d k={k} d={d} p={p}")


# ============================================================================ main

def write_json(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def main():
    if not torch.__version__.startswith("2.15"):
        print(f"warning: fixtures were made with PyTorch 2.15.0, this is {torch.__version__}",
              file=sys.stderr)
    os.makedirs(DATA, exist_ok=True)
    for fn in sorted(os.listdir(DATA)):     # drop fixtures of cases that no longer exist
        if fn.endswith(".npy"):
            os.remove(os.path.join(DATA, fn))

    valid_cases()
    typed_cases("f16", 300)
    typed_cases("bf16", 400)
    typed_examples()
    quantized_cases("u8", 500)
    quantized_cases("i8", 600)
    quantized_examples()
    invalid_cases()
    check_version_differences()
    check_missing_kernels()

    lines = ",\n".join("  " + json.dumps(e) for e in VALID)
    write_json(os.path.join(HERE, "golden.json"),
               '{"version": 1,\n "kernels": [\n' + lines + "\n ]}\n")
    lines = ",\n".join("  " + json.dumps(c) for c in INVALID)
    write_json(os.path.join(HERE, "invalid.json"), "[\n" + lines + "\n]\n")

    total = sum(os.path.getsize(os.path.join(DATA, f)) for f in WRITTEN)
    print(f"PyTorch {torch.__version__}, numpy {np.__version__}")
    print(f"{len(VALID)} valid cases, {len(WRITTEN)} .npy files, {total} bytes; "
          f"{len(INVALID)} invalid cases")
    for s in SURPRISES:
        print("note:", s)


if __name__ == "__main__":
    main()
