#!/usr/bin/env python3
"""PyTorch's own pooling on the GPU, timed on the shapes of poolgen's CUDA kernels, and checked
against poolgen's results.

usage: python3 bench/torch_cuda_anchor.py --poolgen build/poolgen [NAME ...] [--json OUT]
           [--device cuda|cpu] [--min-time S] [--repeats N] [--cold-mb MB] [--check] [--no-time]
       (or --specs FILE, the output of `poolgen list --json`, instead of running --poolgen)

Per kernel: the torch.nn.functional call that computes it (max_poolNd with the kernel's
return_indices, avg_poolNd with ceil_mode / count_include_pad / divisor_override,
adaptive_*_poolNd; global pooling as adaptive pooling to ones; Lp pooling is not compared: torch
composes it from several calls), on an input of the kernel's dtype (float32, float16, bfloat16) in
the kernel's memory layout (channels_last / channels_last_3d for nhwc; 1D nhwc as an N,L,C strided view).
Timing as `poolgen bench --device cuda`: inputs rotate over >= --cold-mb MB (and >= twice the
GPU's L2), a warm-up over a full rotation, then --repeats repetitions of >= --min-time seconds,
each timed with torch.cuda.Event around its calls; the median per-call time is reported.
--check writes an input with NaN, infinities and -0 as .npy, runs `poolgen run` on it on the
same device and compares PyTorch's result with poolgen's: "bitwise", "within bound" (averages
whose summation order differs, within the float32 bound (taps+1)*eps*sum|x|/|divisor|, plus the
16-bit types' rounding as docs/semantics.md derives it), or
"DIFFERS". Indices must be identical. --device cpu runs the same on the CPU (for testing).
Results: a table on stdout, and with --json a file that bench/results_table.py --cuda joins
with `poolgen bench --device cuda --json` output.
"""
import argparse
import ctypes
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import time

OPS = ("max_pool", "avg_pool", "adaptive_max_pool", "adaptive_avg_pool", "global_max_pool", "global_avg_pool")


# ---- specs and the PyTorch call they mean (no torch needed) -------------------------------

def load_specs(poolgen=None, specs_file=None):
    """Kernel specs as `poolgen list --json` prints them."""
    if specs_file:
        with open(specs_file) as f:
            return json.load(f)
    if not poolgen:
        raise SystemExit("torch_cuda_anchor: give --poolgen PATH (the CLI) or --specs FILE (poolgen list --json)")
    out = subprocess.run([poolgen, "list", "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def select(specs, names, device):
    """The kernels to run: those named, or every kernel with a variant for `device`."""
    by_name = {s["name"]: s for s in specs}
    if names:
        missing = [n for n in names if n not in by_name]
        if missing:
            raise SystemExit(f"torch_cuda_anchor: no kernel named {', '.join(missing)} in the specs")
        chosen = [by_name[n] for n in names]
        lacking = [s["name"] for s in chosen if device not in s["targets"]]
        if lacking:
            raise SystemExit(f"torch_cuda_anchor: no {device} variant for {', '.join(lacking)}")
        return chosen
    return [s for s in specs if device in s["targets"]]


def torch_call(spec):
    """(function name in torch.nn.functional, keyword arguments, returns indices)."""
    op, rank = spec["op"], len(spec["input"]) - 2
    if op in ("lp_pool", "global_lp_pool"):
        raise ValueError(f"{spec['name']}: Lp pooling has no single torch.nn.functional call")
    if op not in OPS:
        raise ValueError(f"{spec['name']}: unknown op {op}")
    if spec.get("rules", "pytorch") != "pytorch":
        raise ValueError(f"{spec['name']}: follows ONNX's rules (compared with onnxruntime by tests/onnx)")
    if spec.get("dtype", "f32") not in DTYPES:
        raise ValueError(f"{spec['name']}: {spec['dtype']} has no PyTorch CUDA pooling (quantized pooling is CPU only)")
    indices = bool(spec.get("return_indices", False))
    if op == "max_pool":
        return f"max_pool{rank}d", {"kernel_size": spec["kernel"], "stride": spec["stride"], "padding": spec["padding"],
                                    "dilation": spec["dilation"], "ceil_mode": spec["ceil_mode"],
                                    "return_indices": indices}, indices
    if op == "avg_pool":
        kw = {"kernel_size": spec["kernel"], "stride": spec["stride"], "padding": spec["padding"],
              "ceil_mode": spec["ceil_mode"], "count_include_pad": spec["count_include_pad"]}
        if spec.get("divisor_override") is not None:
            if rank == 1:
                raise ValueError(f"{spec['name']}: avg_pool1d has no divisor_override")
            kw["divisor_override"] = spec["divisor_override"]
        return f"avg_pool{rank}d", kw, False
    # Adaptive and global: the output size resolved by poolgen (null entries, global ones).
    size = spec["output"][2:]
    if op.endswith("max_pool"):
        return f"adaptive_max_pool{rank}d", {"output_size": size, "return_indices": indices}, indices
    return f"adaptive_avg_pool{rank}d", {"output_size": size}, False


def memory_order(spec):
    """Permutation from logical N,C,spatial... to the kernel's memory order."""
    n = len(spec["input"])
    return list(range(n)) if spec["layout"] == "nchw" else [0] + list(range(2, n)) + [1]


def window_taps(spec):
    """The most input elements one output averages (for the error bound)."""
    ins, outs = spec["input"][2:], spec["output"][2:]
    if spec["op"] == "avg_pool":
        return math.prod(spec["kernel"])
    return math.prod(-(-i // o) + 1 for i, o in zip(ins, outs))


# The kernel's dtype: bytes per element, .npy descr (bf16 as its raw bits), torch dtype name,
# machine epsilon, and the integer view of the same width (for bitwise comparison).
DTYPES = {"f32": (4, "<f4", "float32", 2.0 ** -23, "int32"),
          "f16": (2, "<f2", "float16", 2.0 ** -10, "int16"),
          "bf16": (2, "<u2", "bfloat16", 2.0 ** -7, "int16")}


def dtype_of(spec):
    return DTYPES[spec.get("dtype", "f32")]


def traffic_bytes(spec):
    """Input read once, output (and int64 indices) written once: the GB/s numerator."""
    out, elem = math.prod(spec["output"]), dtype_of(spec)[0]
    return elem * math.prod(spec["input"]) + elem * out + (8 * out if spec.get("return_indices") else 0)


def rotation_slots(footprint_bytes, cold_bytes):
    """Buffer sets so that the footprint is at least cold_bytes (1 when 0), as poolgen bench."""
    if cold_bytes <= 0:
        return 1
    return int(min(100000, max(1, math.ceil(cold_bytes / footprint_bytes))))


# ---- .npy, as poolgen's strict reader wants it (no numpy needed) --------------------------

def write_npy(path, descr, shape, data):
    shape_txt = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_txt)
    header += " " * (64 - (10 + len(header) + 1) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + data)


def read_npy(path):
    """(descr, shape, raw bytes) of a version 1.0 little-endian C-order .npy file."""
    with open(path, "rb") as f:
        b = f.read()
    if b[:8] != b"\x93NUMPY\x01\x00":
        raise ValueError(f"{path}: not a version 1.0 .npy file")
    hlen = struct.unpack("<H", b[8:10])[0]
    import ast
    h = ast.literal_eval(b[10:10 + hlen].decode("latin1"))
    if h["fortran_order"]:
        raise ValueError(f"{path}: Fortran order")
    return h["descr"], tuple(h["shape"]), b[10 + hlen:]


# ---- PyTorch ------------------------------------------------------------------------------

def in_layout(torch, x, spec):
    """x (logical, contiguous) in the kernel's memory layout, as PyTorch users hold it."""
    if spec["layout"] == "nchw":
        return x.contiguous()
    if x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    if x.dim() == 5:
        return x.contiguous(memory_format=torch.channels_last_3d)
    return x.permute(0, 2, 1).contiguous().permute(0, 2, 1)  # no channels-last format for 3D tensors


def sample(torch, shape, specials, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(-80, 81, shape, generator=g).float() / 8  # ties, exact sums
    if specials:
        r = torch.randint(0, 200, shape, generator=g)
        x[r == 0] = float("nan")
        x[r == 1] = float("-inf")
        x[r == 2] = float("inf")
        x[r == 3] = -0.0
    return x


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    return ctypes.string_at(t.data_ptr(), t.numel() * t.element_size())


def from_bytes(torch, raw, dtype, shape):
    return torch.frombuffer(bytearray(raw), dtype=dtype).reshape(shape)


def compare(torch, spec, x, ours, ours_idx, theirs, theirs_idx):
    """'bitwise', 'within bound (max abs diff d)' or 'DIFFERS: ...'; x logical, results in memory order."""
    a, b = ours.contiguous(), theirs.contiguous()
    _, _, _, eps, int_name = dtype_of(spec)
    as_int = getattr(torch, int_name)
    detail = ""
    if ours_idx is not None and not torch.equal(ours_idx, theirs_idx.contiguous()):
        n = int((ours_idx != theirs_idx).sum())
        return f"DIFFERS: {n} of {ours_idx.numel()} indices"
    if torch.equal(a.view(as_int), b.view(as_int)):
        return "bitwise"
    both_nan = torch.isnan(a) & torch.isnan(b)
    same = (a.view(as_int) == b.view(as_int)) | both_nan
    if bool(same.all()):
        return "bitwise (NaN payloads differ)"
    bad = ~same
    exact_only = spec["op"].endswith("max_pool") or bool((torch.isnan(a) | torch.isinf(a) | torch.isnan(b)
                                                          | torch.isinf(b))[bad].any())
    diff = (a.double() - b.double()).abs()
    if not exact_only:
        fn, kw, _ = torch_call(spec)
        kw = {k: v for k, v in kw.items() if k != "return_indices"}
        pooled_abs = getattr(torch.nn.functional, fn)(x.abs().double(), **kw).permute(*memory_order(spec))
        # float32's bound, plus one ulp of a narrower type (docs/semantics.md); where a 16-bit
        # type's sums round in the type (3D adaptive averages on the CPU), (taps + 4) of its eps.
        taps = window_taps(spec)
        if eps == 2.0 ** -23:
            bound = (taps + 1) * eps * pooled_abs.contiguous() * 1.01
        elif spec["op"] == "adaptive_avg_pool" and len(spec["input"]) == 5:
            bound = (taps + 4) * eps * pooled_abs.contiguous() * 1.01
        else:
            bound = ((taps + 1) * 2.0 ** -23 + eps) * pooled_abs.contiguous() * 1.01
        if bool((diff[bad] <= bound[bad]).all()):
            return f"within bound (max abs diff {float(diff[bad].max()):.3g})"
        detail = f", max abs diff {float(diff[bad].max()):.3g}"
    return f"DIFFERS: {int(bad.sum())} of {a.numel()} values{detail}"


def check_kernel(torch, spec, poolgen, device, work):
    """PyTorch's result against `poolgen run` on the same input with NaN, infinities and -0."""
    fn, kw, indices = torch_call(spec)
    _, descr, type_name, _, _ = dtype_of(spec)
    t = getattr(torch, type_name)
    x = sample(torch, spec["input"], True, 7).to(t)  # grid values: exact in every type
    perm = memory_order(spec)
    x_mem = x.permute(*perm).contiguous()
    base = os.path.join(work, spec["name"])
    write_npy(base + ".in.npy", descr, list(x_mem.shape), tensor_bytes(x_mem))
    cmd = [poolgen, "run", spec["name"], "--input", base + ".in.npy", "--output", base + ".out.npy", "--device", device]
    if indices:
        cmd += ["--indices", base + ".idx.npy"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return f"DIFFERS: poolgen run failed: {r.stderr.strip()}"
    _, shape, raw = read_npy(base + ".out.npy")
    ours = from_bytes(torch, raw, t, shape)
    ours_idx = None
    if indices:
        _, ishape, iraw = read_npy(base + ".idx.npy")
        ours_idx = from_bytes(torch, iraw, torch.int64, ishape)
    res = getattr(torch.nn.functional, fn)(in_layout(torch, x.to(device), spec), **kw)
    out, idx = (res if indices else (res, None))
    theirs = out.cpu().permute(*perm)
    theirs_idx = idx.cpu().permute(*perm) if indices else None
    return compare(torch, spec, x, ours, ours_idx, theirs, theirs_idx)


def time_kernel(torch, spec, device, min_time, repeats, cold_bytes):
    """Median ms per call over rotating inputs, as poolgen bench times its kernels."""
    fn, kw, _ = torch_call(spec)
    f = getattr(torch.nn.functional, fn)
    slots = rotation_slots(traffic_bytes(spec), cold_bytes)
    x0 = in_layout(torch, sample(torch, spec["input"], False, 1).to(getattr(torch, dtype_of(spec)[2])).to(device), spec)
    xs = [x0] + [x0.clone() for _ in range(slots - 1)]  # clone keeps the memory format
    cuda = device == "cuda"

    def run(calls, start):
        if cuda:
            t0, t1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            t0.record()
            for i in range(calls):
                f(xs[(start + i) % slots], **kw)
            t1.record()
            t1.synchronize()
            return t0.elapsed_time(t1) / 1e3
        t = time.perf_counter()
        for i in range(calls):
            f(xs[(start + i) % slots], **kw)
        return time.perf_counter() - t

    # Warm-up: a full rotation, at least 0.05 s; sets the calls per repetition.
    calls, spent = max(slots, 1), 0.0
    while True:
        spent = run(calls, 0)
        if spent >= 0.05 or calls >= 1 << 24:
            break
        calls *= 2
    per_call = spent / calls
    calls = max(1, math.ceil(min_time / per_call))
    samples, start = [], 0
    for _ in range(repeats):
        samples.append(run(calls, start) * 1e3 / calls)
        start = (start + calls) % slots
    samples.sort()
    n = len(samples)
    return (samples[n // 2] if n % 2 else 0.5 * (samples[n // 2 - 1] + samples[n // 2])), slots


# ---- command line -------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description="PyTorch's pooling on poolgen's CUDA kernel shapes: times and checks.")
    p.add_argument("names", nargs="*", metavar="NAME", help="kernels (default: every kernel with a variant for --device)")
    p.add_argument("--poolgen", help="the poolgen CLI (its `list --json` gives the specs; `run` is used by --check)")
    p.add_argument("--specs", help="`poolgen list --json` output instead of running --poolgen")
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    p.add_argument("--json", help="write the results there")
    p.add_argument("--min-time", type=float, default=0.2, help="seconds per timed repetition (default 0.2)")
    p.add_argument("--repeats", type=int, default=5, help="timed repetitions; the median is reported (default 5)")
    p.add_argument("--cold-mb", type=float, default=128, help="rotate inputs over at least this many MB; 0: warm")
    p.add_argument("--check", action="store_true", help="compare with `poolgen run` on the same device (needs --poolgen)")
    p.add_argument("--no-time", action="store_true", help="only --check")
    a = p.parse_args(argv)
    if a.check and not a.poolgen:
        p.error("--check needs --poolgen")
    if a.no_time and not a.check:
        p.error("--no-time without --check does nothing")
    return a


def main(argv):
    a = parse_args(argv)
    kernels = select(load_specs(a.poolgen, a.specs), a.names, a.device)
    if not kernels:
        raise SystemExit(f"torch_cuda_anchor: no kernel has a {a.device} variant")
    try:
        import torch
    except ImportError:
        raise SystemExit(f"torch_cuda_anchor: PyTorch is not installed for {sys.executable}")
    machine = {"device": a.device, "torch": torch.__version__, "python": sys.version.split()[0],
               "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "threads": 1, "min_time_s": a.min_time,
               "repeats": a.repeats, "command": " ".join([os.path.basename(sys.argv[0])] + argv)}
    cold = a.cold_mb * 1048576
    if a.device == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("torch_cuda_anchor: PyTorch sees no CUDA device (torch.cuda.is_available() is False)")
        props = torch.cuda.get_device_properties(torch.cuda.current_device())
        l2 = getattr(props, "L2_cache_size", 0)
        machine.update({"gpu": props.name, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
                        "l2_bytes": l2, "sm_count": props.multi_processor_count})
        if cold > 0:
            cold = max(cold, 2 * l2)
    else:
        torch.set_num_threads(1)
    machine["cold_mb"] = cold / 1048576
    print(f"PyTorch {torch.__version__} on {machine.get('gpu', 'cpu')}: repetitions of >= {a.min_time} s, median of "
          f"{a.repeats}, cold cache: rotating over >= {cold / 1048576:.0f} MB", flush=True)
    rows, checks, notes = [], [], []
    with tempfile.TemporaryDirectory(prefix="torch_anchor_") as work:
        print(f"{'kernel':36} {'call':22} {'layout':6} {'ms':>10} {'GB/s':>8}  check")
        for spec in kernels:
            try:
                fn, _, _ = torch_call(spec)
            except ValueError as e:  # Lp pooling, rules onnx: no one PyTorch call computes it
                notes.append(f"{e}, not compared")
                print(f"{spec['name']:36} {'-':22} {spec['layout']:6} {'-':>10} {'-':>8}  not compared: {e}", flush=True)
                continue
            ms, check = None, "-"
            try:
                if a.check:
                    check = check_kernel(torch, spec, a.poolgen, a.device, work)
                if not a.no_time:
                    ms, _ = time_kernel(torch, spec, a.device, a.min_time, a.repeats, cold)
                    gbps = traffic_bytes(spec) / (ms * 1e-3) / 1e9
                    rows.append({"kernel": spec["name"], "impl": "torch", "device": a.device, "layout": spec["layout"],
                                 "call": fn, "threads": 1, "median_ms": ms, "gbps": gbps})
            except RuntimeError as e:  # parameters this PyTorch version rejects (docs/semantics.md)
                check = "PyTorch refuses: " + str(e).strip().splitlines()[0]
                notes.append(f"{spec['name']}: {check}")
            if a.check:
                checks.append({"kernel": spec["name"], "against": f"poolgen run --device {a.device}", "result": check})
            print(f"{spec['name']:36} {fn:22} {spec['layout']:6} {'-' if ms is None else f'{ms:10.4f}':>10} "
                  f"{'-' if ms is None else f'{gbps:8.1f}':>8}  {check}", flush=True)
    if a.json:
        tmp = a.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"machine": machine, "results": rows, "checks": checks, "notes": notes}, f, indent=1)
            f.write("\n")
        os.replace(tmp, a.json)
    return 1 if any(c["result"].startswith("DIFFERS") for c in checks) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
