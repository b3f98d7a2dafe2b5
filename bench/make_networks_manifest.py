#!/usr/bin/env python3
"""Writes configs/networks.json: the distinct pooling layers of real networks for the CPU bench.

Layers are taken from configs/networks_gpu.json (SE squeezes, heads, stems, branch pools of
EfficientNet-B0, MobileNetV3-Large, RegNetY-400MF, ResNet, DenseNet, Inception-v3, GoogLeNet,
SqueezeNet) plus the CPU-relevant ones it lacks (VGG/AlexNet, DenseNet transitions,
ShuffleNetV2); each at batch 1 in NCHW and NHWC, and the stems and heads again at batch 8.

    bench/make_networks_manifest.py > configs/networks.json
"""
import json
import os

here = os.path.dirname(os.path.abspath(__file__))
gpu = json.load(open(os.path.join(here, "..", "configs", "networks_gpu.json")))

EXTRA = [  # name, description, fields (input at batch 1)
    ("vgg16_pool_64x224", "VGG-16 MaxPool2d(2, 2), 64x224x224", dict(op="max_pool", input=[1, 64, 224, 224], kernel=2, stride=2)),
    ("vgg16_pool_256x56", "VGG-16 MaxPool2d(2, 2), 256x56x56", dict(op="max_pool", input=[1, 256, 56, 56], kernel=2, stride=2)),
    ("vgg16_pool_512x14", "VGG-16 MaxPool2d(2, 2), 512x14x14", dict(op="max_pool", input=[1, 512, 14, 14], kernel=2, stride=2)),
    ("alexnet_pool1", "AlexNet MaxPool2d(3, 2), 64x55x55", dict(op="max_pool", input=[1, 64, 55, 55], kernel=3, stride=2)),
    ("alexnet_head", "AlexNet/VGG AdaptiveAvgPool2d((6, 6)), 256x13x13", dict(op="adaptive_avg_pool", input=[1, 256, 13, 13], output_size=[6, 6])),
    ("densenet121_trans1", "DenseNet-121 transition AvgPool2d(2, 2), 128x56x56", dict(op="avg_pool", input=[1, 128, 56, 56], kernel=2, stride=2)),
    ("densenet121_trans3", "DenseNet-121 transition AvgPool2d(2, 2), 512x14x14", dict(op="avg_pool", input=[1, 512, 14, 14], kernel=2, stride=2)),
    ("shufflenetv2_stem", "ShuffleNetV2 MaxPool2d(3, 2, 1), 24x112x112", dict(op="max_pool", input=[1, 24, 112, 112], kernel=3, stride=2, padding=1)),
]
BATCH8 = ("resnet_stem", "googlenet_stem1", "squeezenet_pool1", "resnet50_head", "effb0_se_32x112",
          "inception3_branch_avg_288x35", "vgg16_pool_64x224", "densenet121_trans1")

layers = []
for k in gpu["kernels"]:
    if not k["name"].endswith("_nchw"):
        continue
    fields = {f: v for f, v in k.items() if f not in ("name", "layout", "description", "targets")}
    fields["input"] = [1] + fields["input"][1:]
    layers.append((k["name"][: -len("_nchw")], k["description"], fields))
layers += EXTRA
layers += [(n + "_b8", d + ", batch 8", {**f, "input": [8] + f["input"][1:]}) for n, d, f in layers if n in BATCH8]

kernels = []
for name, desc, fields in layers:
    for layout in ("nchw", "nhwc"):
        kernels.append({"name": f"{name}_{layout}", "description": desc, "layout": layout, **fields, "targets": ["cpu"]})
doc = {"version": 1,
       "description": "The pooling layers of real networks for the CPU bench: SE squeezes, heads, stems, VGG/AlexNet "
                      "pools, DenseNet transitions and Inception/GoogLeNet branch pools, at batch 1 (stems and heads "
                      "also at batch 8), NCHW and NHWC. Made by bench/make_networks_manifest.py; benched by "
                      "bench/run_networks.sh.",
       "kernels": kernels}
lines = ["{", f'  "version": 1,', f'  "description": {json.dumps(doc["description"])},', '  "kernels": [']
lines += ["    " + json.dumps(k) + ("," if i + 1 < len(kernels) else "") for i, k in enumerate(kernels)]
lines += ["  ]", "}"]
print("\n".join(lines))
