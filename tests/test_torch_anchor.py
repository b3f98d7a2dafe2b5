#!/usr/bin/env python3
"""bench/torch_cuda_anchor.py without a GPU: spec parsing, the PyTorch calls built from specs,
.npy files that poolgen's strict reader takes, and (when PyTorch is installed for this Python)
PyTorch's CPU pooling against `poolgen run --device cpu` on every kernel of the binary.

usage: test_torch_anchor.py POOLGEN_CLI SOURCE_DIR
"""
import importlib.util
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest

CLI, SOURCE = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("torch_cuda_anchor", os.path.join(SOURCE, "bench", "torch_cuda_anchor.py"))
anchor = importlib.util.module_from_spec(spec)
spec.loader.exec_module(anchor)
SPECS = anchor.load_specs(poolgen=CLI)
BY_NAME = {s["name"]: s for s in SPECS}
# Lp pools (no single PyTorch call) and rules-onnx kernels (onnxruntime's semantics) are not compared.
COMPARABLE = [s for s in SPECS if not s["op"].endswith("lp_pool") and s.get("rules", "pytorch") == "pytorch"]


class Specs(unittest.TestCase):
    def test_calls(self):
        fn, kw, idx = anchor.torch_call(BY_NAME["resnet18_maxpool_indices"])
        self.assertEqual((fn, idx), ("max_pool2d", True))
        self.assertEqual(kw, {"kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1], "dilation": [1, 1],
                              "ceil_mode": False, "return_indices": True})
        fn, kw, idx = anchor.torch_call(BY_NAME["avg_divisor_override"])
        self.assertEqual((fn, kw["divisor_override"], kw["ceil_mode"], kw["count_include_pad"], idx),
                         ("avg_pool2d", 2, True, True, False))
        self.assertNotIn("divisor_override", anchor.torch_call(BY_NAME["avg_ceil_pad_exclude_nhwc"])[1])
        self.assertEqual(anchor.torch_call(BY_NAME["avg1d_k3s2p1_exclude"])[0], "avg_pool1d")
        self.assertEqual(anchor.torch_call(BY_NAME["max3d_k2s2_nhwc"])[0], "max_pool3d")
        # Global pooling is adaptive pooling to ones; adaptive sizes come resolved from `output`.
        self.assertEqual(anchor.torch_call(BY_NAME["resnet18_gap_nhwc"]), ("adaptive_avg_pool2d", {"output_size": [1, 1]}, False))
        self.assertEqual(anchor.torch_call(BY_NAME["global_max_indices"]),
                         ("adaptive_max_pool2d", {"output_size": [1, 1], "return_indices": True}, True))
        self.assertEqual(anchor.torch_call(BY_NAME["adaptive_max_7x7_to_3x1_nhwc"])[1]["output_size"], [3, 1])
        for s in COMPARABLE:
            anchor.torch_call(s)  # every other kernel of the manifest has a call
        for s in SPECS:
            if s not in COMPARABLE:
                self.assertRaises(ValueError, anchor.torch_call, s)

    def test_layout_and_bytes(self):
        self.assertEqual(anchor.memory_order(BY_NAME["resnet18_maxpool"]), [0, 1, 2, 3])
        self.assertEqual(anchor.memory_order(BY_NAME["resnet18_maxpool_nhwc"]), [0, 2, 3, 1])
        self.assertEqual(anchor.memory_order(BY_NAME["max3d_k2s2_nhwc"]), [0, 2, 3, 4, 1])
        self.assertEqual(anchor.traffic_bytes(BY_NAME["resnet18_maxpool_indices"]), 4 * 64 * 112 * 112 + 12 * 64 * 56 * 56)
        self.assertEqual(anchor.rotation_slots(1 << 20, 0), 1)
        self.assertEqual(anchor.rotation_slots(1 << 20, 100 << 20), 100)

    def test_selection_and_arguments(self):
        cuda = [s["name"] for s in anchor.select(SPECS, [], "cuda")]
        self.assertIn("resnet18_maxpool", cuda)
        self.assertNotIn("seed_max_4x4_k2", cuda)
        with self.assertRaises(SystemExit):
            anchor.select(SPECS, ["seed_max_4x4_k2"], "cuda")
        with self.assertRaises(SystemExit):
            anchor.select(SPECS, ["no_such_kernel"], "cpu")
        a = anchor.parse_args(["--poolgen", CLI, "--json", "t.json", "--check", "resnet18_gap"])
        self.assertEqual((a.device, a.names, a.check, a.cold_mb), ("cuda", ["resnet18_gap"], True, 128))
        with open(os.devnull, "w") as null:
            stderr, sys.stderr = sys.stderr, null
            try:
                with self.assertRaises(SystemExit):
                    anchor.parse_args(["--specs", "x.json", "--check"])  # --check runs the CLI
            finally:
                sys.stderr = stderr

    def test_npy_round_trip_through_poolgen(self):
        # The seed example: [[1,3,2,1],[4,6,5,0],[2,9,3,4],[0,1,7,2]] -> [[6,5],[9,7]].
        with tempfile.TemporaryDirectory() as d:
            x = [1, 3, 2, 1, 4, 6, 5, 0, 2, 9, 3, 4, 0, 1, 7, 2]
            anchor.write_npy(f"{d}/x.npy", "<f4", [1, 1, 4, 4], struct.pack("<16f", *x))
            subprocess.run([CLI, "run", "seed_max_4x4_k2", "--input", f"{d}/x.npy", "--output", f"{d}/y.npy"], check=True)
            descr, shape, raw = anchor.read_npy(f"{d}/y.npy")
            self.assertEqual((descr, shape, struct.unpack("<4f", raw)), ("<f4", (1, 1, 2, 2), (6, 5, 9, 7)))
            anchor.write_npy(f"{d}/l.npy", "<f4", [3], struct.pack("<3f", 1, 2, 3))
            self.assertEqual(anchor.read_npy(f"{d}/l.npy")[1], (3,))


class JoinedTable(unittest.TestCase):
    def test_results_table_joins_by_kernel(self):
        row = lambda impl, ms: {"kernel": "k1", "impl": impl, "device": "cuda", "threads": 1, "median_ms": ms, "gbps": 1.0}
        ours = {"machine": {"device": "cuda", "gpu": "G"}, "results": [row("poolgen", 0.5), row("copy", 0.25)], "notes": []}
        theirs = {"machine": {"device": "cuda", "torch": "T"}, "results": [row("torch", 1.0)],
                  "checks": [{"kernel": "k1", "result": "bitwise"}]}
        with tempfile.TemporaryDirectory() as d:
            for name, data in (("ours", ours), ("theirs", theirs)):
                with open(f"{d}/{name}.json", "w") as f:
                    json.dump(data, f)
            table = subprocess.run([sys.executable, os.path.join(SOURCE, "bench", "results_table.py"), "--cuda",
                                    f"{d}/ours.json", f"{d}/theirs.json"], check=True, capture_output=True, text=True).stdout
        self.assertIn("| k1 | 0.5 | 1.0 | 0.25 | 50% | 1 | 1.0 | 2.00x | bitwise |", table)


class AgainstPyTorch(unittest.TestCase):
    def test_every_kernel_on_cpu(self):
        try:
            import torch  # noqa: F401
        except ImportError:
            print(f"[SKIP] PyTorch is not installed for {sys.executable}: PyTorch's results not compared")
            return
        with tempfile.TemporaryDirectory() as d:
            out = f"{d}/checks.json"
            r = subprocess.run([sys.executable, os.path.join(SOURCE, "bench", "torch_cuda_anchor.py"), "--poolgen", CLI,
                                "--device", "cpu", "--check", "--no-time", "--json", out], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            with open(out) as f:
                checks = json.load(f)["checks"]
        self.assertEqual(len(checks), len(COMPARABLE))
        for c in checks:
            # Averages PyTorch computes with mean() agree within the bound; everything else bitwise.
            self.assertTrue(c["result"].startswith(("bitwise", "within bound", "PyTorch refuses")), c)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
