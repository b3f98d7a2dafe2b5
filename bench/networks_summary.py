#!/usr/bin/env python3
"""Geometric-mean speed-up over the fastest anchor, by kind of layer and layout, from
`poolgen bench --json` runs of configs/networks.json (bench/run_networks.sh writes them).

usage: python3 bench/networks_summary.py MANIFEST.json RUN.json [RUN.json ...]
Kinds: global averages (output all ones), other adaptive averages, windowed averages,
max pools by window and stride. Rows slower than the fastest anchor are counted.
"""
import json
import math
import sys


def kind(k):
    op = k["op"]
    out = k.get("output_size")
    if op.startswith("global"):
        return "global " + op.split("_")[1]
    if op.startswith("adaptive"):
        sizes = out if isinstance(out, list) else [out]
        return ("global " if all(o == 1 for o in sizes) else "adaptive ") + op.split("_")[1]
    ker = k.get("kernel")
    ker = ker if isinstance(ker, list) else [ker]
    st = k.get("stride", ker)
    st = st if isinstance(st, list) else [st]
    name = f"{op.split('_')[0]} {'x'.join(map(str, ker))} s{st[0]}"
    return name + (" +indices" if k.get("return_indices") else "")


def main():
    manifest = json.load(open(sys.argv[1]))
    kinds = {k["name"]: (kind(k), k.get("layout", "nchw")) for k in manifest["kernels"]}
    for path in sys.argv[2:]:
        data = json.load(open(path))
        by = {}
        for name in dict.fromkeys(r["kernel"] for r in data["results"]):
            rows = [r for r in data["results"] if r["kernel"] == name]
            ours = next(r["median_ms"] for r in rows if r["impl"] == "poolgen")
            anchors = [r["median_ms"] for r in rows if r["impl"].split(":")[0] in ("onednn", "libtorch")
                       and ":reorders" not in r["impl"]]
            if not anchors or name not in kinds:
                continue
            ratio = min(anchors) / ours
            by.setdefault(kinds[name], []).append(ratio)
            by.setdefault(("all", ""), []).append(ratio)
        m = data["machine"]
        print(f"\n{path}: {m.get('threads')} thread(s), {m.get('date', '')}")
        print("| kind | layout | layers | geomean vs fastest anchor | slower rows | worst |")
        print("|---|---|---:|---:|---:|---:|")
        for (kd, lay), r in sorted(by.items(), key=lambda x: (x[0][0] == "all", x[0])):
            g = math.exp(sum(map(math.log, r)) / len(r))
            print(f"| {kd} | {lay} | {len(r)} | {g:.2f}x | {sum(x < 1 for x in r)} | {min(r):.2f}x |")


if __name__ == "__main__":
    main()
