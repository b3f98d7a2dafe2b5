#!/usr/bin/env python3
"""Markdown tables of `poolgen bench --json` results, as bench/RESULTS.md shows them.

usage: python3 bench/results_table.py RESULTS.json [RESULTS.json ...]
Per kernel: poolgen, the reference loops, oneDNN and libtorch in their fastest layout (and in
the kernel's own layout), the read+write roofline, the speed-up over the fastest anchor and
the share of the roofline reached. Then the bar: never slower than the fastest anchor,
geometric mean >= 1.5x, >= 80% of the roofline on kernels larger than L2.
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
           "| % of roofline |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    logs, misses = [], []
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
        if speed:
            logs.append(math.log(speed))
            if speed < 1.0:
                misses.append(f"{k}: {speed:.2f}x the fastest anchor")
        if big and share is not None and share < 0.8:
            misses.append(f"{k}: {100 * share:.0f}% of the roofline (larger than L2)")
        out.append(f"| {k} | {fmt(ours['median_ms'])} | {ours['gbps']:.1f} | {fmt(ref['median_ms'] if ref else None)} "
                   f"| {fmt(od)} ({odl}) | {fmt(ods)} | {fmt(tb)} ({tbl}) | {fmt(tbs)} | {fmt(roof['median_ms'] if roof else None)} "
                   f"| {'-' if speed is None else f'{speed:.2f}x'} | {'-' if share is None else f'{100 * share:.0f}%'}"
                   f"{'' if big else ' (fits L2)'} |")
    out.append("")
    if logs:
        out.append(f"Geometric mean speed-up over the fastest anchor: **{math.exp(sum(logs) / len(logs)):.2f}x** "
                   f"({len(logs)} kernels).")
    if misses:
        out.append("Below the bar: " + "; ".join(misses) + ".")
    out.append("")
    return "\n".join(out)


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for p in argv[1:]:
        print(table(p))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
