#!/usr/bin/env python3
"""`poolgen import` end to end, checked against onnxruntime.

    check_onnx.py --source DIR --work DIR --cmake CMAKE --halide-dir DIR --poolgen POOLGEN

Builds the test models (make_models.py), imports them, builds the manifests' kernels with
poolgen's CMake project and runs each through `poolgen run` on random input; onnxruntime runs
the same node (alone, on the same input). Max pools must agree exactly; averages within
2*(n-1)*u*mean|x| + 2*u*|y| (n taps, u = 2^-24: both sides sum n float32 terms in some order
and divide once). Then every bad model and option must be refused with its reason and nothing
written. Exit 77 (skip) when onnx or onnxruntime is missing.
"""
import argparse
import json
import os
import subprocess
import sys

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper
except ImportError as e:
    print(f"[SKIP] needs numpy, onnx and onnxruntime in this Python ({e}); `make deps` installs them")
    sys.exit(77)

U = 2.0 ** -24
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def import_model(poolgen, model, out, *flags):
    r = run([poolgen, "import", model, "-o", out, *flags])
    if r.returncode != 0:
        sys.exit(f"poolgen import {model} failed:\n{r.stderr}")
    return json.load(open(out))


def node_model(node, shape):
    """The node alone, reading x and writing y (and its indices i where it has them), as
    onnxruntime runs it."""
    n = onnx.NodeProto()
    n.CopyFrom(node)
    with_indices = len(node.output) > 1 and node.output[1]
    del n.input[:]
    del n.output[:]
    n.input.append("x")
    n.output.append("y")
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    if with_indices:
        n.output.append("i")
        outputs.append(helper.make_tensor_value_info("i", TensorProto.INT64, None))
    g = helper.make_graph([n], "one", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)], outputs)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 19)])
    m.ir_version = 9
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # ONNX's shape inference sizes ceil_mode outputs differently (docs/onnx.md)
    return ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def taps(k):
    if k["op"].startswith("global"):
        return int(np.prod(k["input"][2:]))
    return int(np.prod(k["kernel"]))


def compare_kernel(poolgen, k, node, work, rng, x=None, expected=None):
    """poolgen's kernel against onnxruntime running `node` on random input, or against the
    `expected` outputs of input `x` (ONNX's own test cases)."""
    shape = k["input"]
    if x is None:
        # Values on a coarse grid: many ties, exact sums for the averages' bound to be tight.
        x = (np.round(rng.standard_normal(shape) * 8) / 8).astype(np.float32)
    outs = expected if expected is not None else node_model(node, shape).run(None, {"x": x})
    expect = outs[0]
    nhwc = k["layout"] == "nhwc"
    perm = [0] + list(range(2, len(shape))) + [1]
    inv = [0, len(shape) - 1] + list(range(1, len(shape) - 1))
    xin = np.ascontiguousarray(x.transpose(perm)) if nhwc else x
    xp, yp = os.path.join(work, k["name"] + "_x.npy"), os.path.join(work, k["name"] + "_y.npy")
    np.save(xp, xin)
    ip = os.path.join(work, k["name"] + "_i.npy")
    indices = k.get("return_indices", False)
    r = run([poolgen, "run", k["name"], "--input", xp, "--output", yp, "--device", "cpu"] + (["--indices", ip] if indices else []))
    if r.returncode != 0:
        check(False, f"{k['name']}: poolgen run failed: {r.stderr.strip()}")
        return
    got = np.load(yp)
    if nhwc:
        got = got.transpose(inv)
    label = f"{k['name']} (node {node.name})"
    whose = "the expected output" if expected is not None else "onnxruntime"
    check(got.shape == expect.shape, f"{label}: shape {got.shape}, {whose} {expect.shape}")
    if got.shape != expect.shape:
        return
    if indices:
        got_i = np.load(ip)
        if nhwc:
            got_i = got_i.transpose(inv)
        bad = int(np.sum(got_i != outs[1]))
        check(bad == 0, f"{label}: {bad} of {got_i.size} indices differ from {whose}")
    if k["op"] in ("max_pool", "global_max_pool"):
        bad = int(np.sum(got != expect))
        check(bad == 0, f"{label}: {bad} of {got.size} max values differ from {whose}")
    else:
        if expected is not None:
            # ONNX's test outputs are rounded (4 digits in some cases): within ONNX's own
            # tolerance of them, then within the float32 bound of onnxruntime's result.
            bad = int(np.sum(~np.isclose(got, expect, rtol=1e-3, atol=1e-7)))
            check(bad == 0, f"{label}: {bad} of {got.size} values beyond ONNX's test tolerance (rtol 1e-3, atol 1e-7)")
            whose = "onnxruntime"
            expect = node_model(node, shape).run(None, {"x": x})[0]
        if k["op"] in ("lp_pool", "global_lp_pool"):
            # Each result's sum of |x|^p is within (taps + 6) U of exact relatively (terms, sum),
            # so its p-th root within that over p, plus two roundings of the root; both sides.
            bound = 2 * ((taps(k) + 6) / k.get("p", 2) + 2) * U * np.abs(expect)
        else:
            mean_abs = node_model(node, shape).run(None, {"x": np.abs(x)})[0]
            bound = 2 * (taps(k) - 1) * U * mean_abs + 2 * U * np.abs(expect)
        err = np.abs(got.astype(np.float64) - expect)
        worst = float(np.max(err - bound))
        check(worst <= 0, f"{label}: differs from {whose} beyond the bound by {worst:g}")
    print(f"ok   {label}: {got.size} values")


POOL_OPS = ("MaxPool", "AveragePool", "GlobalMaxPool", "GlobalAveragePool", "LpPool", "GlobalLpPool")

# ONNX's own pooling test cases that poolgen refuses, and the words of the refusal.
NODE_TESTS_REFUSED = {
    "test_maxpool_2d_uint8": "ONNX element type 2",
}


def onnx_node_tests(poolgen, models):
    """ONNX's own pooling node tests (onnx.backend.test.case.node: each a one-node model, its
    inputs and the outputs ONNX's reference gives), imported one model each. Returns
    (manifest kernels, {kernel name: (case, input, expected outputs)})."""
    import warnings

    from onnx.backend.test.case.node import collect_testcases
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = collect_testcases(None)
    kernels, runs = [], {}
    for i, case in enumerate(c for c in cases if [n.op_type for n in c.model.graph.node] in [[op] for op in POOL_OPS]):
        path = os.path.join(models, case.name + ".onnx")
        onnx.save(case.model, path)
        out = os.path.join(models, case.name + ".json")
        r = run([poolgen, "import", path, "-o", out, "--targets", "cpu", "--prefix", f"ox{i}_"])
        if case.name in NODE_TESTS_REFUSED:
            check(r.returncode != 0 and NODE_TESTS_REFUSED[case.name] in r.stderr,
                  f"{case.name}: expected a refusal naming '{NODE_TESTS_REFUSED[case.name]}': {r.stderr.strip()}")
            print(f"ok   refused ONNX test {case.name}: {r.stderr.strip().splitlines()[-1][:100]}")
            continue
        if r.returncode != 0:
            check(False, f"ONNX test {case.name}: poolgen import failed: {r.stderr.strip()}")
            continue
        (k,) = json.load(open(out))["kernels"]
        ((inputs, outputs),) = case.data_sets
        kernels.append(k)
        runs[k["name"]] = (case, inputs[0], outputs)
    return kernels, runs


# Real CNNs the onnx package ships (onnx/backend/test/data/light: the models' graphs with small
# weights): AlexNet and Inception v1/v2 pad their max pools unlike at the two ends.
REAL_MODELS = ("bvlc_alexnet", "inception_v1", "inception_v2", "resnet50")
def real_models(poolgen, work):
    """Imports each real model; returns (manifest kernels, {kernel name: node})."""
    light = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
    kernels, nodes = [], {}
    for name in REAL_MODELS:
        path = os.path.join(light, f"light_{name}.onnx")
        manifest = import_model(poolgen, path, os.path.join(work, name + ".json"), "--targets", "cpu", "--prefix", name + "_")
        pools = [n for n in onnx.load(path).graph.node if n.op_type in POOL_OPS]
        labels = {(n.name or f"{n.op_type}_{i}"): n for i, n in enumerate(pools)}
        check(sum(len(k["description"].split(", ")) for k in manifest["kernels"]) == len(pools),
              f"{name}: every one of its {len(pools)} pooling nodes in a kernel")
        for k in manifest["kernels"]:
            kernels.append(k)
            for label in k["description"].split(" ", 2)[2].split(", "):
                nodes[(k["name"], label)] = labels[label]
    return kernels, nodes


def expect_refusal(poolgen, args, fragment, out):
    if os.path.exists(out):
        os.remove(out)
    r = run([poolgen, "import", *args, "-o", out])
    check(r.returncode != 0, f"import {' '.join(args)}: exit 0, expected a refusal")
    check(fragment in r.stderr, f"import {' '.join(args)}: message lacks '{fragment}': {r.stderr.strip()}")
    check(not os.path.exists(out), f"import {' '.join(args)}: wrote {out} although it failed")
    print(f"ok   refused {' '.join(os.path.basename(a) for a in args)}: {r.stderr.strip().splitlines()[-1][:110]}")


def main():
    ap = argparse.ArgumentParser()
    for a in ("--source", "--work", "--cmake", "--halide-dir", "--poolgen"):
        ap.add_argument(a, required=True)
    a = ap.parse_args()
    models = os.path.join(a.work, "models")
    os.makedirs(models, exist_ok=True)
    subprocess.run([sys.executable, os.path.join(a.source, "tests/onnx/make_models.py"), models], check=True)
    m = lambda name: os.path.join(models, name + ".onnx")  # noqa: E731

    # Import with the CLI this build made, then build the kernels with the project's CMake.
    zoo = import_model(a.poolgen, m("pool_zoo"), os.path.join(a.work, "zoo.json"), "--targets", "cpu")
    cnn = import_model(a.poolgen, m("cnn_small"), os.path.join(a.work, "cnn.json"), "--batch", "3", "--layout",
                       "nhwc", "--targets", "cpu", "--prefix", "cnn_")
    shared = [k for k in zoo["kernels"] if "max2d_k2s2_again" in k["description"]]
    check(len(shared) == 1 and "max2d_k2s2," in shared[0]["description"],
          "identical layers max2d_k2s2 and max2d_k2s2_again must share one kernel")
    check(len(cnn["kernels"]) == 5 and all(k["input"][0] == 3 for k in cnn["kernels"]),
          "cnn_small: 5 kernels at batch 3")
    node_kernels, node_runs = onnx_node_tests(a.poolgen, models)
    check(len(node_runs) >= 42, f"ONNX's own pooling tests: {len(node_runs)} imported, expected at least 42")
    real_kernels, real_nodes = real_models(a.poolgen, a.work)
    check(any(k.get("padding_end") for k in real_kernels), "real models: Inception's pads unlike at the two ends imported")
    both = {"version": 1, "kernels": zoo["kernels"] + cnn["kernels"] + node_kernels + real_kernels}
    manifest = os.path.join(a.work, "imported.json")
    json.dump(both, open(manifest, "w"), indent=1)
    build = os.path.join(a.work, "build")
    r = run([a.cmake, "-S", a.source, "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release", "-Wno-dev",
             f"-DHalide_DIR={a.halide_dir}", f"-DPOOLGEN_MANIFEST={manifest}", "-DPOOLGEN_BUILD_TESTS=OFF"])
    if r.returncode != 0:
        sys.exit("configuring the imported manifest failed:\n" + r.stdout[-3000:] + r.stderr[-3000:])
    r = run([a.cmake, "--build", build, "--target", "poolgen"])
    if r.returncode != 0:
        sys.exit("building the imported manifest failed:\n" + r.stdout[-3000:] + r.stderr[-3000:])
    built = os.path.join(build, "poolgen")

    nodes = {}
    for path in (m("pool_zoo"), m("cnn_small")):
        for n in onnx.load(path).graph.node:
            nodes[n.name] = n
    rng = np.random.default_rng(5)
    for k in zoo["kernels"] + cnn["kernels"]:
        for name in k["description"].split(" ", 2)[2].split(", "):
            compare_kernel(built, k, nodes[name], a.work, rng)
    for (name, label), node in real_nodes.items():
        compare_kernel(built, next(k for k in real_kernels if k["name"] == name), node, a.work, rng)
    for k in node_kernels:
        case, x, outputs = node_runs[k["name"]]
        compare_kernel(built, k, case.model.graph.node[0], a.work, rng, x=x, expected=outputs)

    bad = os.path.join(a.work, "refused.json")
    expect_refusal(a.poolgen, [m("bad_lppool")], "node 'lp' (LpPool): attribute 'p' is 0", bad)
    expect_refusal(a.poolgen, [m("bad_pad_not_below_kernel")],
                   "node 'bigpad' (AveragePool): attribute 'pads' [2, 0, 0, 0]: a pad of 2 is not smaller than the kernel", bad)
    expect_refusal(a.poolgen, [m("bad_storage_order")], "node 'order' (MaxPool): attribute 'storage_order' is 2", bad)
    expect_refusal(a.poolgen, [m("bad_no_pool")], "has no pooling node", bad)
    expect_refusal(a.poolgen, [m("bad_opset")], "opset 99", bad)
    expect_refusal(a.poolgen, [m("bad_no_kernel_shape")], "node 'nokernel' (MaxPool): attribute 'kernel_shape' is missing", bad)
    expect_refusal(a.poolgen, [m("bad_dynamic")], "node 'dyn' (MaxPool): input 'x' has dynamic dims", bad)
    expect_refusal(a.poolgen, [m("bad_truncated")], "is not an ONNX model", bad)
    expect_refusal(a.poolgen, [m("bad_not_onnx")], "is not an ONNX model", bad)
    expect_refusal(a.poolgen, [os.path.join(models, "missing.onnx")], "cannot read model", bad)
    expect_refusal(a.poolgen, [m("mixed_lppool")], "node 'lp_branch' (LpPool)", bad)
    expect_refusal(a.poolgen, [m("cnn_small"), "--batch", "0"], "--batch", bad)
    expect_refusal(a.poolgen, [m("cnn_small"), "--layout", "chw"], "--layout must be nchw or nhwc", bad)
    expect_refusal(a.poolgen, [m("cnn_small"), "--input", "image:1x3"], "rank 4, SHAPE has 2", bad)
    expect_refusal(a.poolgen, [m("cnn_small"), "--input", "nope:1x3x8x8"], "--input 'nope': the model has no such input", bad)
    expect_refusal(a.poolgen, [m("cnn_small"), "--targets", "gpu"], "--targets", bad)
    expect_refusal(a.poolgen, [m("cnn_small"), "--prefix", "9x"], "--prefix must be a C identifier", bad)
    expect_refusal(a.poolgen, [m("cnn_small"), "--python", "/nonexistent/python"], "cannot run '/nonexistent/python'", bad)
    # --skip-unsupported: the good node is written, the other named on stderr.
    r = run([a.poolgen, "import", m("mixed_lppool"), "-o", bad, "--skip-unsupported"])
    check(r.returncode == 0 and "skipped node 'lp_branch' (LpPool)" in r.stderr,
          f"--skip-unsupported: rc {r.returncode}, stderr {r.stderr.strip()}")
    check(r.returncode == 0 and [k["name"] for k in json.load(open(bad))["kernels"]] == ["fine"],
          "--skip-unsupported: exactly the kernel 'fine' is written")
    # --input sets a dynamic model's shape (batch 2, 32x32 planes).
    r = run([a.poolgen, "import", m("cnn_small"), "-o", bad, "--input", "image:2x3x32x32"])
    check(r.returncode == 0 and json.load(open(bad))["kernels"][0]["input"] == [2, 8, 16, 16],
          f"--input image:2x3x32x32: stem pool input [2, 8, 16, 16]; rc {r.returncode} {r.stderr.strip()}")

    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("all imported kernels match onnxruntime; every bad model and option refused")
    return 0


if __name__ == "__main__":
    sys.exit(main())
