#!/usr/bin/env python3
"""Geometric-mean speed-up over the fastest anchor, by kind of layer and layout, from
`poolgen bench --json` runs of configs/networks.json (bench/run_networks.sh writes them).

usage: python3 bench/networks_summary.py MANIFEST.json RUN.json [RUN.json ...]
                                         [--more-anchors OTHER.json ...]
Kinds: global averages (output all ones), other adaptive averages, windowed averages,
max pools by window and stride. Rows slower than the fastest anchor are counted.
--more-anchors: runs of the same kernels against other anchor builds (for example Debian's
oneDNN 2.6 and libtorch 1.13 through POOLGEN_ANCHOR_DIR); their anchors count too, matched to
each RUN by thread count.
"""
import argparse
import json
import math


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


def anchor_times(results, name):
    return [r["median_ms"] for r in results if r["kernel"] == name and r["impl"].split(":")[0] in ("onednn", "libtorch")
            and ":reorders" not in r["impl"]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("manifest")
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--more-anchors", nargs="+", default=[])
    args = ap.parse_args()
    manifest = json.load(open(args.manifest))
    kinds = {k["name"]: (kind(k), k.get("layout", "nchw")) for k in manifest["kernels"]}
    more = [json.load(open(p)) for p in args.more_anchors]
    for path in args.runs:
        data = json.load(open(path))
        others = [o["results"] for o in more if o["machine"].get("threads") == data["machine"].get("threads")]
        by = {}
        for name in dict.fromkeys(r["kernel"] for r in data["results"]):
            rows = [r for r in data["results"] if r["kernel"] == name]
            ours = next(r["median_ms"] for r in rows if r["impl"] == "poolgen")
            anchors = anchor_times(rows, name) + [t for o in others for t in anchor_times(o, name)]
            if not anchors or name not in kinds:
                continue
            ratio = min(anchors) / ours
            by.setdefault(kinds[name], []).append(ratio)
            by.setdefault(("all", ""), []).append(ratio)
        m = data["machine"]
        print(f"\n{path}: {m.get('threads')} thread(s), {m.get('date', '')}"
              + (f", anchors also from {len(others)} other run(s)" if others else ""))
        print("| kind | layout | layers | geomean vs fastest anchor | slower rows | worst |")
        print("|---|---|---:|---:|---:|---:|")
        for (kd, lay), r in sorted(by.items(), key=lambda x: (x[0][0] == "all", x[0])):
            g = math.exp(sum(map(math.log, r)) / len(r))
            print(f"| {kd} | {lay} | {len(r)} | {g:.2f}x | {sum(x < 1 for x in r)} | {min(r):.2f}x |")


if __name__ == "__main__":
    main()
