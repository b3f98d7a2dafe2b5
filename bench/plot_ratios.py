#!/usr/bin/env python3
"""Chart of `poolgen bench --json` results: per kernel, how many times longer each competitor
takes than poolgen (best layout of oneDNN and of libtorch, and the reference loops), and the
roofline's time over poolgen's (1.0 = poolgen at the memory roofline).

usage: python3 bench/plot_ratios.py OUT.png RESULTS.json [RESULTS.json ...]
One panel per JSON file (e.g. 1 and 2 threads). Needs matplotlib (Debian: python3-matplotlib).
"""
import json
import math
import os
import sys


def best(rows, prefix):
    times = [(r["median_ms"], r["impl"]) for r in rows if r["impl"].startswith(prefix) and ":reorders" not in r["impl"]]
    return min(times) if times else (None, None)


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out, files = argv[1], argv[2:]
    fig, axes = plt.subplots(len(files), 1, figsize=(14, 5.2 * len(files)), squeeze=False)
    for ax, path in zip(axes[:, 0], files):
        with open(path) as f:
            data = json.load(f)
        kernels = []
        for r in data["results"]:
            if r["kernel"] not in kernels:
                kernels.append(r["kernel"])
        series = {"oneDNN (best layout)": [], "libtorch (best layout)": [], "roofline / poolgen": []}
        for k in kernels:
            rows = [r for r in data["results"] if r["kernel"] == k]
            ours = next(r["median_ms"] for r in rows if r["impl"] == "poolgen")
            for label, prefix in (("oneDNN (best layout)", "onednn:"), ("libtorch (best layout)", "libtorch:"),
                                  ("roofline / poolgen", "roofline")):
                t, _ = best(rows, prefix)
                series[label].append(t / ours if t else float("nan"))
        width = 0.8 / len(series)
        for i, (label, values) in enumerate(series.items()):
            xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(kernels))]
            ax.bar(xs, values, width, label=label)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.axhline(0.8, color="grey", linewidth=0.6, linestyle="--")
        ax.set_yscale("log")
        ax.set_xticks(range(len(kernels)))
        ax.set_xticklabels(kernels, rotation=35, ha="right", fontsize=8)
        ax.set_ylabel("time / poolgen time (> 1: poolgen faster)")
        m = data.get("machine", {})
        ax.set_title(f"{os.path.basename(path)}: {m.get('cpu', '?')}, {m.get('threads', '?')} thread(s), cold cache "
                     f"({m.get('date', '')})", fontsize=10)
        ratios = [v for v in (min(a, b) for a, b in zip(series["oneDNN (best layout)"], series["libtorch (best layout)"]))
                  if not math.isnan(v)]
        if ratios:
            gm = math.exp(sum(math.log(v) for v in ratios) / len(ratios))
            ax.text(0.01, 0.95, f"geometric mean speed-up over the fastest anchor: {gm:.2f}x", transform=ax.transAxes,
                    fontsize=9, va="top")
        ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
