#!/usr/bin/env python3
"""Reads an ONNX model's pooling nodes into a poolgen manifest (version 1) on stdout.

Run by `poolgen import`, which validates the manifest with poolgen's own reader before writing
it; see docs/onnx.md. Needs the `onnx` package (shape inference); the kernels built from the
manifest need no ONNX library.

Exit status: 0 with the manifest on stdout, 1 with a message on stderr (nothing on stdout).
"""
import argparse
import json
import re
import sys

MAX_LP_ORDER = 1 << 24  # poolgen::kMaxLpOrder
POOL_OPS = ("MaxPool", "AveragePool", "GlobalMaxPool", "GlobalAveragePool", "LpPool", "GlobalLpPool")
# Opsets of the default domain whose pooling operators this reader knows (1 to 22).
KNOWN_OPSETS = range(1, 23)


class Refused(Exception):
    """A node poolgen cannot express: the message names the node, the attribute and why."""


def fail(msg):
    sys.stderr.write("poolgen: error: " + msg + "\n")
    sys.exit(1)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="poolgen import", description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--input", action="append", default=[], metavar="NAME:SHAPE")
    p.add_argument("--layout", default="nchw")
    p.add_argument("--targets", default="cpu,cuda")
    p.add_argument("--prefix", default="")
    p.add_argument("--skip-unsupported", action="store_true")
    return p.parse_args(argv)


def parse_input_shapes(specs):
    shapes = {}
    for s in specs:
        name, sep, dims = s.rpartition(":")
        if not sep or not name:
            fail(f"--input '{s}': expected NAME:SHAPE, e.g. input:1x3x224x224")
        try:
            shape = [int(d) for d in re.split(r"[x,]", dims)]
        except ValueError:
            fail(f"--input '{s}': SHAPE must be positive integers joined by 'x', e.g. 1x3x224x224")
        if not shape or any(d <= 0 for d in shape):
            fail(f"--input '{s}': SHAPE must be positive integers joined by 'x', e.g. 1x3x224x224")
        if name in shapes:
            fail(f"--input '{name}' is given twice")
        shapes[name] = shape
    return shapes


def load_model(path):
    try:
        import onnx  # noqa: F401
    except ImportError:
        fail("poolgen import needs the Python package 'onnx' (`make deps` installs it into the project's "
             ".venv; or pip install onnx) in the Python that runs it (--python or POOLGEN_PYTHON)")
    import onnx
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        fail(f"cannot read model '{path}': {e.strerror}")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as e:  # protobuf raises DecodeError or RuntimeError by version
        fail(f"'{path}' is not an ONNX model (protobuf parse failed: {e})")
    if not model.HasField("graph") or len(model.graph.node) == 0:
        fail(f"'{path}' is not an ONNX model, or its graph has no nodes")
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx") and imp.version not in KNOWN_OPSETS:
            fail(f"'{path}': opset {imp.version} of the default domain is not known to this reader "
                 f"(known: {KNOWN_OPSETS.start} to {KNOWN_OPSETS.stop - 1})")
    return model


def set_input_shapes(model, batch, shapes):
    """Fixes graph inputs' dims: --input shapes first, then --batch for a dynamic or any first dim."""
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    known = {i.name for i in inputs}
    for name in shapes:
        if name not in known:
            fail(f"--input '{name}': the model has no such input (inputs: {', '.join(sorted(known)) or 'none'})")
    for inp in inputs:
        tt = inp.type.tensor_type
        if not tt.HasField("shape"):
            continue
        dims = tt.shape.dim
        if inp.name in shapes:
            want = shapes[inp.name]
            if len(want) != len(dims):
                fail(f"--input '{inp.name}': the model's input has rank {len(dims)}, SHAPE has {len(want)} dims")
            for d, v in zip(dims, want):
                d.ClearField("dim_param")
                d.dim_value = v
        elif batch is not None and len(dims) > 0:
            dims[0].ClearField("dim_param")
            dims[0].dim_value = batch


def value_shapes(model):
    import onnx
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as e:
        fail(f"ONNX shape inference failed: {e}")
    shapes = {}
    g = inferred.graph
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        tt = vi.type.tensor_type
        if tt.HasField("shape"):
            shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tt.shape.dim]
        if tt.elem_type:
            shapes.setdefault("__type__" + vi.name, tt.elem_type)
            shapes["__type__" + vi.name] = tt.elem_type
    return shapes


def attributes(node):
    import onnx
    out = {}
    for a in node.attribute:
        out[a.name] = onnx.helper.get_attribute_value(a)
        if isinstance(out[a.name], bytes):
            out[a.name] = out[a.name].decode("utf-8", "replace")
    return out


def resolve_pads(node, attrs, spatial, kernel, strides, dilations):
    """Explicit (begin, end) pads per spatial dim, auto_pad resolved as ONNX defines it."""
    r = len(spatial)
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if auto_pad in ("NOTSET", ""):
        pads = list(attrs.get("pads", [0] * (2 * r)))
        if len(pads) != 2 * r:
            raise Refused(f"attribute 'pads' has {len(pads)} values; a {r}D pool needs {2 * r} (begins, then ends)")
        if any(p < 0 for p in pads):
            raise Refused("attribute 'pads': pads must be non-negative")
        return pads[:r], pads[r:]
    if "pads" in attrs and any(attrs["pads"]):
        raise Refused("attributes 'auto_pad' and 'pads' are both set; ONNX allows only one")
    if auto_pad == "VALID":
        return [0] * r, [0] * r
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        raise Refused(f"attribute 'auto_pad' is '{auto_pad}'; ONNX defines NOTSET, VALID, SAME_UPPER, SAME_LOWER")
    begins, ends = [], []
    for n, k, s, d in zip(spatial, kernel, strides, dilations):
        out = -(-n // s)
        total = max(0, (out - 1) * s + d * (k - 1) + 1 - n)
        small, large = total // 2, total - total // 2
        begins.append(small if auto_pad == "SAME_UPPER" else large)
        ends.append(large if auto_pad == "SAME_UPPER" else small)
    return begins, ends


def kernel_entry(node, attrs, in_shape, args):
    """The manifest fields of one pooling node (without name and description)."""
    op = node.op_type
    rank = len(in_shape)
    if rank not in (3, 4, 5):
        raise Refused(f"input '{node.input[0]}' has rank {rank}; poolgen pools 1D, 2D and 3D data "
                      "(N, C and 1 to 3 spatial dims)")
    entry = {"op": None, "layout": args.layout, "input": list(in_shape)}
    spatial = in_shape[2:]
    r = len(spatial)
    if op in ("LpPool", "GlobalLpPool"):
        # Always ONNX's rules: |x|^p and no rescaling of windows that overhang the input
        # (PyTorch's LPPool raises x itself to p and scales such windows by kernel/clipped size).
        order = attrs.get("p", 2)
        if not isinstance(order, int) or not 1 <= order <= MAX_LP_ORDER:
            raise Refused(f"attribute 'p' is {order}; poolgen's Lp pooling takes integer orders from 1 to {MAX_LP_ORDER}")
        entry.update({"rules": "onnx", "p": order})
    if op == "GlobalLpPool":
        entry["op"] = "global_lp_pool"
        return entry
    if op == "GlobalMaxPool":
        entry["op"] = "global_max_pool"
        return entry
    if op == "GlobalAveragePool":
        entry["op"] = "global_avg_pool"
        return entry

    if "kernel_shape" not in attrs:
        raise Refused("attribute 'kernel_shape' is missing (a kernel shape given at run time cannot be compiled ahead of time)")
    kernel = list(attrs["kernel_shape"])
    if len(kernel) != r or any(k <= 0 for k in kernel):
        raise Refused(f"attribute 'kernel_shape' {kernel}: need {r} positive sizes for a {r}D input")
    strides = list(attrs.get("strides", [1] * r))
    dilations = list(attrs.get("dilations", [1] * r))
    if len(strides) != r or any(s <= 0 for s in strides):
        raise Refused(f"attribute 'strides' {strides}: need {r} positive values")
    if len(dilations) != r or any(d <= 0 for d in dilations):
        raise Refused(f"attribute 'dilations' {dilations}: need {r} positive values")
    begins, ends = resolve_pads(node, attrs, spatial, kernel, strides, dilations)
    for k, b, e in zip(kernel, begins, ends):
        if b >= k or e >= k:
            raise Refused(f"attribute 'pads' {begins + ends}: a pad of {max(b, e)} is not smaller than the kernel ({k}), "
                          "which ONNX requires")
    ceil_mode = bool(attrs.get("ceil_mode", 0))
    entry.update({"kernel": kernel, "stride": strides, "padding": begins, "ceil_mode": ceil_mode})
    # Where ONNX's rules and PyTorch's give different kernels the entry says "rules": "onnx":
    # pads unlike at the two ends or larger than half the kernel, dilated averages, a 3D average
    # over an input smaller than its kernel, and used indices (over the whole tensor).
    onnx_rules = begins != ends or any(b > k // 2 for k, b in zip(kernel, begins))
    if begins != ends:
        entry["padding_end"] = ends
    if op == "MaxPool":
        entry["op"] = "max_pool"
        entry["dilation"] = dilations
        storage_order = attrs.get("storage_order", 0)
        if storage_order not in (0, 1):
            raise Refused(f"attribute 'storage_order' is {storage_order}; ONNX defines 0 (row-major) and 1 (column-major)")
        if len(node.output) > 1 and node.output[1]:
            onnx_rules = True
            entry["return_indices"] = True
            if storage_order:
                entry["storage_order"] = storage_order
    elif op == "LpPool":
        entry["op"] = "lp_pool"
        if any(d != 1 for d in dilations):
            entry["dilation"] = dilations
    else:
        entry["op"] = "avg_pool"
        if any(d != 1 for d in dilations):
            onnx_rules = True
            entry["dilation"] = dilations
        if r == 3 and any(n < k for n, k in zip(spatial, kernel)):
            onnx_rules = True
        # ONNX's default is to exclude the padding from the divisor (PyTorch's is to include it).
        entry["count_include_pad"] = bool(attrs.get("count_include_pad", 0))
    if onnx_rules:
        entry["rules"] = "onnx"
    return entry


def identifier(text, prefix):
    name = re.sub(r"[^A-Za-z0-9_]", "_", text).strip("_") or "pool"
    name = prefix + name
    if not re.match(r"[A-Za-z_]", name):
        name = "n_" + name
    return name


def main(argv):
    args = parse_args(argv)
    if args.batch is not None and args.batch <= 0:
        fail(f"--batch must be a positive integer, got {args.batch}")
    if args.layout not in ("nchw", "nhwc"):
        fail(f"--layout must be nchw or nhwc, got '{args.layout}'")
    targets = [t for t in args.targets.split(",") if t]
    if not targets or any(t not in ("cpu", "cuda") for t in targets) or len(set(targets)) != len(targets):
        fail(f"--targets must be cpu, cuda or cpu,cuda, got '{args.targets}'")
    if args.prefix and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", args.prefix):
        fail(f"--prefix must be a C identifier (letters, digits, '_', not starting with a digit), got '{args.prefix}'")
    shapes_in = parse_input_shapes(args.input)

    model = load_model(args.model)
    set_input_shapes(model, args.batch, shapes_in)
    shapes = value_shapes(model)

    kernels, by_key, refused = [], {}, []
    used_names = set()
    pool_nodes = [n for n in model.graph.node if n.domain in ("", "ai.onnx") and n.op_type in POOL_OPS]
    if not pool_nodes:
        fail(f"'{args.model}' has no pooling node ({', '.join(POOL_OPS)})")
    for i, node in enumerate(pool_nodes):
        label = node.name or f"{node.op_type}_{i}"
        try:
            in_name = node.input[0] if node.input else ""
            shape = shapes.get(in_name)
            if shape is None:
                raise Refused(f"the shape of input '{in_name}' is unknown after shape inference "
                              "(give the model's inputs with --input NAME:SHAPE)")
            dynamic = [j for j, d in enumerate(shape) if not isinstance(d, int) or d <= 0]
            if dynamic:
                raise Refused(f"input '{in_name}' has dynamic dims {[shape[j] for j in dynamic]} at positions "
                              f"{dynamic}; set them with --batch N or --input NAME:SHAPE")
            elem = shapes.get("__type__" + in_name)
            if elem not in (None, 1):  # 1: FLOAT
                raise Refused(f"input '{in_name}' has ONNX element type {elem}; poolgen imports float32 models "
                              "(its f16 and bf16 kernels follow PyTorch's rules, not ONNX's)")
            entry = kernel_entry(node, attributes(node), shape, args)
        except Refused as e:
            msg = f"node '{label}' ({node.op_type}): {e}"
            if not args.skip_unsupported:
                fail(msg + " (--skip-unsupported leaves such nodes out)")
            refused.append(msg)
            continue
        entry["targets"] = targets
        key = json.dumps(entry, sort_keys=True)
        if key in by_key:
            by_key[key]["nodes"].append(label)
            continue
        name = identifier(label, args.prefix)
        base, n = name, 2
        while name in used_names:
            name, n = f"{base}_{n}", n + 1
        used_names.add(name)
        k = {"name": name, "nodes": [label], **entry}
        by_key[key] = k
        kernels.append(k)

    for msg in refused:
        sys.stderr.write("poolgen: skipped " + msg + "\n")
    if not kernels:
        fail(f"'{args.model}': none of its {len(pool_nodes)} pooling node(s) can be expressed")
    out = []
    for k in kernels:
        nodes = k.pop("nodes")
        k["description"] = (f"ONNX {'node' if len(nodes) == 1 else 'nodes'} " + ", ".join(nodes))
        out.append({"name": k.pop("name"), "description": k.pop("description"), **k})
    manifest = {"version": 1, "description": f"Pooling layers imported from {args.model.rsplit('/', 1)[-1]}",
                "kernels": out}
    sys.stdout.write(json.dumps(manifest, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
