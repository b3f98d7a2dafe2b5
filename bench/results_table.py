#!/usr/bin/env python3
"""Markdown tables of `poolgen bench --json` results, as bench/RESULTS.md shows them.

usage: python3 bench/results_table.py RESULTS.json [RESULTS.json ...]
       python3 bench/results_table.py --cuda POOLGEN_CUDA.json [TORCH.json]
Per kernel: poolgen, the reference loops, oneDNN and libtorch in their fastest layout (and in
the kernel's own layout), the read+write roofline, the speed-up over the fastest anchor and
the share of the roofline reached. Then the bar: never slower than the fastest anchor,
geometric mean >= 1.5x, >= 80% of the roofline on kernels larger than L2.
With --cuda: `poolgen bench --device cuda --json` output joined by kernel with
bench/torch_cuda_anchor.py's JSON: poolgen, the device copy of the same bytes, PyTorch, the
speed-up over PyTorch and PyTorch's result check.
"""
import json
import math
import sys


def best(rows, prefix, layout=None):
    c = [(r["median_ms"], r["impl"].split(":", 1)[1]) for r in rows
         if r["impl"].startswith(prefix) and ":reorders" not in r["impl"]
         and (layout is None or r["impl"].endswith(":" + layout))]
    return min(c) if c else (None, None)


def fmt(v, digits=4):
    return "-" if v is None else f"{v:.{digits}g}"


def table(path):
    with open(path) as f:
        data = json.load(f)
    m = data["machine"]
    l2 = m.get("L2_kib", 0) * 1024
    kernels = []
    for r in data["results"]:
        if r["kernel"] not in kernels:
            kernels.append(r["kernel"])
    out = [f"**{m.get('threads')} thread(s)** — `{m.get('command', '')}` — {m.get('date', '')}", "",
           "| kernel | poolgen ms | GB/s | reference ms | oneDNN best ms (layout) | oneDNN same layout ms "
           "| libtorch best ms (layout) | libtorch same layout ms | roofline ms | speed-up vs fastest anchor "
           "| % of roofline | ceiling |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    logs, ceiling_logs, misses = [], [], []
    for k in kernels:
        rows = [r for r in data["results"] if r["kernel"] == k]
        get = lambda impl: next((r for r in rows if r["impl"] == impl), None)
        ours, ref, roof = get("poolgen"), get("reference"), get("roofline")
        layout = "nhwc" if k.endswith("_nhwc") else "nchw"
        od, odl = best(rows, "onednn:")
        tb, tbl = best(rows, "libtorch:")
        ods, _ = best(rows, "onednn:", layout)
        tbs, _ = best(rows, "libtorch:", layout)
        anchors = [t for t in (od, tb) if t is not None]
        fastest = min(anchors) if anchors else None
        speed = fastest / ours["median_ms"] if fastest else None
        share = roof["median_ms"] / ours["median_ms"] if roof else None
        # bytes the kernel moves: GB/s * ms
        big = ours["gbps"] * ours["median_ms"] * 1e6 > l2 if l2 else True
        # The speed-up a kernel running exactly at the roofline would have: the most the bar
        # can ask of a memory-bound kernel.
        ceiling = fastest / roof["median_ms"] if fastest and roof else None
        if ceiling:
            ceiling_logs.append(math.log(ceiling))
        if speed:
            logs.append(math.log(speed))
            if speed < 1.0:
                misses.append(f"{k}: {speed:.2f}x the fastest anchor")
        if big and share is not None and share < 0.8:
            misses.append(f"{k}: {100 * share:.0f}% of the roofline (larger than L2)")
        out.append(f"| {k} | {fmt(ours['median_ms'])} | {ours['gbps']:.1f} | {fmt(ref['median_ms'] if ref else None)} "
                   f"| {fmt(od)} ({odl}) | {fmt(ods)} | {fmt(tb)} ({tbl}) | {fmt(tbs)} | {fmt(roof['median_ms'] if roof else None)} "
                   f"| {'-' if speed is None else f'{speed:.2f}x'} | {'-' if share is None else f'{100 * share:.0f}%'}"
                   f"{'' if big else ' (fits L2)'} | {'-' if ceiling is None else f'{ceiling:.2f}x'} |")
    out.append("")
    if logs:
        out.append(f"Geometric mean speed-up over the fastest anchor: **{math.exp(sum(logs) / len(logs)):.2f}x** "
                   f"({len(logs)} kernels); at exactly the roofline every kernel would reach "
                   f"{math.exp(sum(ceiling_logs) / len(ceiling_logs)):.2f}x (ceiling: fastest anchor ms / roofline ms).")
    if misses:
        out.append("Below the bar: " + "; ".join(misses) + ".")
    out.append("")
    return "\n".join(out)


def cuda_table(ours_path, torch_path=None):
    with open(ours_path) as f:
        ours = json.load(f)
    theirs = {"machine": {}, "results": [], "checks": []}
    if torch_path:
        with open(torch_path) as f:
            theirs = json.load(f)
    m, tm = ours["machine"], theirs["machine"]
    torch_of = {r["kernel"]: r for r in theirs["results"] if r.get("device", "cuda") == "cuda"}
    check_of = {c["kernel"]: c["result"] for c in theirs.get("checks", [])}
    out = [f"**{m.get('gpu', 'GPU')}** — `{m.get('command', '')}` — {m.get('date', '')}"
           + (f"; PyTorch {tm.get('torch')} (CUDA {tm.get('cuda')}) — `{tm.get('command', '')}`" if tm else ""), "",
           "| kernel | poolgen ms | GB/s | copy ms | % of copy bandwidth | PyTorch ms | PyTorch GB/s "
           "| speed-up vs PyTorch | PyTorch vs poolgen |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    kernels = []
    for r in ours["results"]:
        if r["kernel"] not in kernels:
            kernels.append(r["kernel"])
    logs = []
    for k in kernels:
        get = lambda impl: next((r for r in ours["results"] if r["kernel"] == k and r["impl"] == impl), None)
        p, c, t = get("poolgen"), get("copy"), torch_of.get(k)
        speed = t["median_ms"] / p["median_ms"] if t else None
        if speed:
            logs.append(math.log(speed))
        share = f"{100 * c['median_ms'] / p['median_ms']:.0f}%" if c else "-"
        torch_gbps = f"{t['gbps']:.1f}" if t else "-"
        out.append(f"| {k} | {fmt(p['median_ms'])} | {p['gbps']:.1f} | {fmt(c['median_ms'] if c else None)} | {share} "
                   f"| {fmt(t['median_ms'] if t else None)} | {torch_gbps} "
                   f"| {'-' if speed is None else f'{speed:.2f}x'} | {check_of.get(k, '-')} |")
    out.append("")
    if logs:
        out.append(f"Geometric mean speed-up over PyTorch: **{math.exp(sum(logs) / len(logs)):.2f}x** ({len(logs)} kernels).")
        out.append("")
    return "\n".join(out)


def main(argv):
    if len(argv) < 2 or (argv[1] == "--cuda" and len(argv) not in (3, 4)):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    if argv[1] == "--cuda":
        print(cuda_table(*argv[2:]))
        return 0
    for p in argv[1:]:
        print(table(p))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
