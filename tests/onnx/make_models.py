#!/usr/bin/env python3
"""Builds the ONNX models of the import tests into a directory (deterministic; weights seeded).

    make_models.py OUT_DIR

pool_zoo.onnx     one pooling node per attribute combination poolgen imports, each on its own
                  graph input: 1D/2D/3D, strides, dilations, pads, auto_pad SAME_UPPER/SAME_LOWER/
                  VALID, ceil_mode, count_include_pad, global pools, a shared layer; and those
                  only ONNX's rules allow: pads unlike at the two ends or over half the kernel,
                  dilated averages, MaxPool's Indices in both storage orders.
cnn_small.onnx    a small CNN with a dynamic batch dim: conv stem, ResNet-style MaxPool(3, 2, 1),
                  SqueezeNet-style ceil_mode MaxPool, an Inception-style 3x3 s1 branch pool, an SE
                  squeeze (GlobalAveragePool) and a head AveragePool.
bad_*.onnx        models the import must refuse, each for one reason (see check_onnx.py).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)


def model(nodes, inputs, outputs, opset=19, inits=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="poolgen-tests")
    m.ir_version = 9
    return m


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def pool_zoo():
    cases = [  # (name, op, input shape, attributes)
        ("max2d_k3s2p1", "MaxPool", [2, 3, 11, 12], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
        ("max2d_k2s2", "MaxPool", [1, 4, 8, 8], dict(kernel_shape=[2, 2], strides=[2, 2])),
        ("max2d_ceil", "MaxPool", [1, 2, 13, 13], dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
        ("max2d_ceil_pad", "MaxPool", [1, 2, 7, 6], dict(kernel_shape=[2, 2], strides=[3, 3], pads=[1, 1, 1, 1], ceil_mode=1)),
        ("max2d_dil", "MaxPool", [1, 2, 10, 9], dict(kernel_shape=[3, 2], strides=[1, 2], dilations=[2, 3], pads=[1, 1, 1, 1])),
        ("max2d_same_upper", "MaxPool", [1, 3, 9, 9], dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")),
        ("max2d_same_lower", "MaxPool", [1, 3, 9, 9], dict(kernel_shape=[3, 3], strides=[1, 1], auto_pad="SAME_LOWER")),
        ("max2d_valid", "MaxPool", [1, 3, 9, 9], dict(kernel_shape=[2, 2], strides=[2, 2], auto_pad="VALID")),
        ("max1d", "MaxPool", [2, 3, 17], dict(kernel_shape=[4], strides=[3], pads=[2, 2])),
        ("max3d", "MaxPool", [1, 2, 5, 6, 7], dict(kernel_shape=[2, 3, 3], strides=[2, 2, 2], pads=[1, 1, 1, 1, 1, 1])),
        ("avg2d_exclude", "AveragePool", [2, 3, 11, 12], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
        ("avg2d_include", "AveragePool", [2, 3, 11, 12],
         dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)),
        ("avg2d_ceil_include", "AveragePool", [1, 2, 6, 7],
         dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1)),
        ("avg2d_ceil_exclude", "AveragePool", [1, 2, 7, 5], dict(kernel_shape=[2, 2], strides=[3, 3], pads=[1, 1, 1, 1], ceil_mode=1)),
        ("avg2d_s1_branch", "AveragePool", [1, 8, 9, 9], dict(kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])),
        ("avg2d_same_upper", "AveragePool", [1, 2, 9, 9], dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")),
        ("avg1d", "AveragePool", [1, 3, 20], dict(kernel_shape=[5], strides=[2], pads=[2, 2], count_include_pad=1)),
        ("avg3d", "AveragePool", [1, 2, 6, 5, 4], dict(kernel_shape=[2, 2, 2], strides=[2, 2, 2])),
        ("gmax2d", "GlobalMaxPool", [2, 5, 7, 6], {}),
        ("gavg2d", "GlobalAveragePool", [2, 5, 7, 6], {}),
        ("gavg1d", "GlobalAveragePool", [1, 4, 33], {}),
        ("gmax3d", "GlobalMaxPool", [1, 3, 4, 5, 3], {}),
        # ONNX's rules (the manifest's "rules": "onnx"): pads unlike at the two ends or larger
        # than half the kernel, dilated averages, 3D averages over inputs smaller than the kernel.
        ("max2d_asym", "MaxPool", [1, 2, 9, 8], dict(kernel_shape=[3, 3], pads=[0, 1, 2, 2])),
        ("max2d_same_lower_k2", "MaxPool", [1, 2, 8, 7], dict(kernel_shape=[2, 2], auto_pad="SAME_LOWER")),
        ("max2d_pad_over_half", "MaxPool", [1, 2, 7, 7], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[2, 2, 2, 2])),
        ("avg2d_asym_include_ceil", "AveragePool", [1, 3, 10, 9],
         dict(kernel_shape=[3, 3], strides=[2, 2], pads=[0, 1, 2, 1], count_include_pad=1, ceil_mode=1)),
        ("avg2d_asym_exclude", "AveragePool", [1, 3, 10, 9], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[2, 0, 1, 2])),
        ("avg2d_same_upper_even", "AveragePool", [1, 2, 8, 8],
         dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER", count_include_pad=1)),
        ("avg2d_pad_over_half", "AveragePool", [1, 2, 7, 8],
         dict(kernel_shape=[3, 3], strides=[2, 1], pads=[2, 2, 2, 2], count_include_pad=1)),
        ("avg2d_dil_include", "AveragePool", [1, 2, 10, 11],
         dict(kernel_shape=[2, 3], strides=[1, 2], dilations=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)),
        ("avg2d_dil_exclude_ceil", "AveragePool", [1, 2, 10, 11],
         dict(kernel_shape=[3, 3], strides=[2, 2], dilations=[2, 3], pads=[1, 2, 2, 1], ceil_mode=1)),
        ("avg1d_dil_no_input_tap", "AveragePool", [1, 2, 4], dict(kernel_shape=[2], dilations=[5], pads=[1, 1])),
        ("avg3d_dil", "AveragePool", [1, 2, 6, 7, 8], dict(kernel_shape=[2, 2, 3], dilations=[2, 1, 2], count_include_pad=1)),
        ("avg3d_small_input", "AveragePool", [1, 2, 2, 3, 3],
         dict(kernel_shape=[3, 3, 3], pads=[1, 1, 1, 1, 1, 1], count_include_pad=1)),
        # Lp pooling (always "rules": "onnx": |x|^p, pads as zeros).
        ("lp2d_p2", "LpPool", [1, 3, 9, 9], dict(kernel_shape=[3, 3], strides=[2, 2], p=2)),
        ("lp2d_p3_asym_ceil", "LpPool", [1, 3, 10, 9], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 2, 1], ceil_mode=1, p=3)),
        ("lp1d_p1_dil", "LpPool", [2, 3, 17], dict(kernel_shape=[3], dilations=[2], pads=[1, 1], p=1)),
        ("lp2d_p4_same_upper", "LpPool", [1, 2, 8, 8], dict(kernel_shape=[2, 2], auto_pad="SAME_UPPER", p=4)),
        ("lp3d", "LpPool", [1, 2, 5, 6, 7], dict(kernel_shape=[2, 2, 2], strides=[2, 2, 2])),
        ("glp2d", "GlobalLpPool", [2, 5, 7, 6], {}),
        ("glp1d_p3", "GlobalLpPool", [1, 4, 33], dict(p=3)),
    ]
    # MaxPool with its Indices output used: ONNX's whole-tensor indices, both storage orders.
    with_indices = [
        ("max2d_idx", [2, 3, 7, 6], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
        ("max2d_idx_col", [2, 3, 7, 6], dict(kernel_shape=[2, 3], strides=[2, 1], storage_order=1)),
        ("max1d_idx_col", [2, 2, 9], dict(kernel_shape=[3], strides=[2], pads=[1, 2], storage_order=1)),
        ("max3d_idx_col", [1, 2, 4, 5, 6], dict(kernel_shape=[2, 2, 3], strides=[1, 2, 2], storage_order=1)),
        ("max2d_idx_dil", [1, 2, 9, 9], dict(kernel_shape=[2, 2], dilations=[3, 2], pads=[1, 1, 1, 1])),
    ]
    nodes, inputs, outputs = [], [], []
    for name, op, shape, attrs in cases:
        nodes.append(helper.make_node(op, ["x_" + name], ["y_" + name], name=name, **attrs))
        inputs.append(vi("x_" + name, shape))
        outputs.append(vi("y_" + name, None))
    for name, shape, attrs in with_indices:
        nodes.append(helper.make_node("MaxPool", ["x_" + name], ["y_" + name, "i_" + name], name=name, **attrs))
        inputs.append(vi("x_" + name, shape))
        outputs += [vi("y_" + name, None), helper.make_tensor_value_info("i_" + name, TensorProto.INT64, None)]
    # Two nodes with the same layer: one kernel.
    nodes.append(helper.make_node("MaxPool", ["x_max2d_k2s2"], ["y_shared"], name="max2d_k2s2_again",
                                  kernel_shape=[2, 2], strides=[2, 2]))
    outputs.append(vi("y_shared", None))
    return model(nodes, inputs, outputs)


def conv(name, x, cin, cout, k, stride, pad, inits):
    w = numpy_helper.from_array((rng.standard_normal((cout, cin, k, k)) * 0.2).astype(np.float32), name + "_w")
    inits.append(w)
    return helper.make_node("Conv", [x, w.name], [name], name=name, kernel_shape=[k, k], strides=[stride, stride],
                            pads=[pad] * 4)


def cnn_small():
    inits, nodes = [], []
    nodes.append(conv("stem", "image", 3, 8, 3, 2, 1, inits))
    nodes.append(helper.make_node("Relu", ["stem"], ["stem_relu"], name="stem_relu"))
    nodes.append(helper.make_node("MaxPool", ["stem_relu"], ["pool1"], name="stem/maxpool",
                                  kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]))
    nodes.append(conv("c2", "pool1", 8, 16, 3, 1, 1, inits))
    nodes.append(helper.make_node("MaxPool", ["c2"], ["pool2"], name="fire/maxpool_ceil",
                                  kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1))
    nodes.append(helper.make_node("AveragePool", ["pool2"], ["branch"], name="inception/branch_pool",
                                  kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], count_include_pad=1))
    nodes.append(helper.make_node("GlobalAveragePool", ["branch"], ["se"], name="se/squeeze"))
    nodes.append(helper.make_node("Mul", ["branch", "se"], ["excited"], name="se/scale"))
    nodes.append(helper.make_node("AveragePool", ["excited"], ["head"], name="head/avgpool", kernel_shape=[4, 4]))
    return model(nodes, [vi("image", ["N", 3, 64, 64])], [vi("head", None)], opset=17, inits=inits)


def single(op, attrs, shape=(1, 2, 8, 8), opset=19, name="node"):
    return model([helper.make_node(op, ["x"], ["y"], name=name, **attrs)], [vi("x", list(shape))], [vi("y", None)],
                 opset=opset)


def bad_models():
    yield "bad_lppool", single("LpPool", dict(kernel_shape=[2, 2], p=0), name="lp")
    yield "bad_pad_not_below_kernel", single("AveragePool", dict(kernel_shape=[2, 2], pads=[2, 0, 0, 0]), name="bigpad")
    yield "bad_storage_order", single("MaxPool", dict(kernel_shape=[2, 2], storage_order=2), name="order")
    yield "bad_no_pool", model([helper.make_node("Relu", ["x"], ["y"], name="r")], [vi("x", [1, 2, 3, 3])], [vi("y", None)])
    yield "bad_opset", single("MaxPool", dict(kernel_shape=[2, 2]), opset=99, name="future")
    yield "bad_no_kernel_shape", single("MaxPool", {}, name="nokernel")
    mixed = model([helper.make_node("MaxPool", ["x"], ["y"], name="fine", kernel_shape=[2, 2]),
                   helper.make_node("LpPool", ["x"], ["z"], name="lp_branch", kernel_shape=[2, 2], p=0)],
                  [vi("x", [1, 2, 8, 8])], [vi("y", None), vi("z", None)])
    yield "mixed_lppool", mixed
    yield "bad_dynamic", single("MaxPool", dict(kernel_shape=[2, 2]), shape=("N", 2, "H", 8), name="dyn")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    onnx.save(pool_zoo(), os.path.join(out, "pool_zoo.onnx"))
    onnx.save(cnn_small(), os.path.join(out, "cnn_small.onnx"))
    for name, m in bad_models():
        onnx.save(m, os.path.join(out, name + ".onnx"))
    data = open(os.path.join(out, "pool_zoo.onnx"), "rb").read()
    with open(os.path.join(out, "bad_truncated.onnx"), "wb") as f:
        f.write(data[: len(data) // 2])
    with open(os.path.join(out, "bad_not_onnx.onnx"), "wb") as f:
        f.write(b"this is not a protobuf\xff\xfe")


if __name__ == "__main__":
    main()
