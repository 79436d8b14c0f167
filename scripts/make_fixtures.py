#!/usr/bin/env python3
"""PyTorch fixtures for the CNN Zoo engine (run in a virtualenv with torch, torchvision, numpy, safetensors;
none of them is a dependency of the project).

Weights and inputs are not stored: both sides compute them from the same counter-based PRNG
(ZooEngine/SeededInit.swift documents the stream), so a fixture is only the model's output.

  python scripts/make_fixtures.py                 # writes Tests/ZooTests/Fixtures/*.npy (committed)
  python scripts/make_fixtures.py --check-all ZOO # every torchvision-compatible model: exports the seeded
                                                  # state dict to safetensors, runs `ZOO run` on it and
                                                  # compares with PyTorch (nothing is written to the repo);
                                                  # --winograd runs `zoo run --winograd`, --size N the input side
  python scripts/make_fixtures.py --classes       # regenerates Sources/ZooEngine/ImageNetClasses.swift
  python scripts/make_fixtures.py --activations   # only the activation fixtures (needs torch and numpy only)
  python scripts/make_fixtures.py --conv-transpose  # only the transposed-convolution fixtures (conv_transpose_net.npy
                                                  # and conv_transpose_counts.json: fvcore's and torch's counts)
  python scripts/make_fixtures.py --merges        # only merge_net.npy (needs torch and numpy only)
  python scripts/make_fixtures.py --channels      # only channel_net.npy (needs torch and numpy only)
  python scripts/make_fixtures.py --resize        # only resize_net.npy (needs torch and numpy only)
  python scripts/make_fixtures.py --padding       # only pad_net.npy: padding modes, pads, crops (torch and numpy)
  python scripts/make_fixtures.py --segmentation  # only fcn_resnet50.npy and unet.npy
  python scripts/make_fixtures.py --unpool        # only unpool_net.npy (needs torch and numpy only)
  python scripts/make_fixtures.py --local         # only local_net.npy (unfold + einsum; torch and numpy only)
  python scripts/make_fixtures.py --classic       # only the SqueezeNet, Inception-v3, All-CNN-C and gated
                                                  # inpainting fixtures (CLASSIC_SET below)
"""
import argparse
from collections import OrderedDict
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "ZooTests", "Fixtures")

M64 = (1 << 64) - 1


def fnv1a64(key: str) -> int:
    h = 0xCBF29CE484222325
    for b in key.encode():
        h ^= b
        h = (h * 0x100000001B3) & M64
    return h


def uniform(key: str, n: int, seed: int = 0) -> np.ndarray:
    """Value i: (splitmix64(base + (i+1)·golden) >> 40) · 2^-24, base = fnv1a64(key) ^ seed (float32)."""
    base = np.uint64(fnv1a64(key) ^ seed)
    i = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = base + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float32) * np.float32(2.0**-24)


def symmetric(key, n, bound):
    return (np.float32(2) * uniform(key, n) - np.float32(1)) * np.float32(bound)


def seeded_state_dict(model: nn.Module):
    """The state dict SeededInit.weights(for:randomStatistics: true) builds on the Swift side."""
    sd = {}
    for name, m in model.named_modules():
        p = name + "." if name else ""
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            w = m.weight
            fan_in = int(np.prod(w.shape[1:]))
            bound = np.float32(1 / math.sqrt(fan_in))
            sd[p + "weight"] = symmetric(p + "weight", w.numel(), bound).reshape(w.shape)
            if m.bias is not None:
                sd[p + "bias"] = symmetric(p + "bias", m.bias.numel(), bound)
        elif isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            sd[p + "weight"] = np.float32(0.5) + uniform(p + "weight", c)
            sd[p + "bias"] = symmetric(p + "bias", c, 0.1)
            sd[p + "running_mean"] = symmetric(p + "running_mean", c, 0.1)
            sd[p + "running_var"] = np.float32(0.5) + uniform(p + "running_var", c)
    return sd


def load_seeded(model):
    sd = OrderedDict((k, torch.from_numpy(np.ascontiguousarray(v))) for k, v in seeded_state_dict(model).items())
    sd._metadata = model.state_dict()._metadata  # the module versions (MNASNet refuses a state dict without)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    assert not missing and not unexpected, (missing, unexpected)
    return model.eval()


class LeNet5(nn.Module):
    """zoo/lenet.yaml's `modern` LeNet-5, with the same module names."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.pool2 = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool1(torch.relu(self.conv1(x)))
        x = self.pool2(torch.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


class DoubleConv(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.conv1 = nn.Conv2d(i, o, 3)
        self.conv2 = nn.Conv2d(o, o, 3)

    def forward(self, x):
        return torch.relu(self.conv2(torch.relu(self.conv1(x))))


class Up(nn.Module):
    def __init__(self, i):
        super().__init__()
        self.upconv = nn.ConvTranspose2d(i, i // 2, 2, stride=2)
        self.conv = DoubleConv(i, i // 2)

    def forward(self, x, skip):
        x = self.upconv(x)
        dy, dx = (skip.shape[2] - x.shape[2]) // 2, (skip.shape[3] - x.shape[3]) // 2
        skip = skip[:, :, dy:dy + x.shape[2], dx:dx + x.shape[3]]
        return self.conv(torch.cat([skip, x], 1))


class UNet(nn.Module):
    """zoo/unet.yaml: Ronneberger et al.'s U-Net (unpadded convolutions, centre crops), the same module names."""

    def __init__(self):
        super().__init__()
        self.down1, self.down2 = DoubleConv(1, 64), DoubleConv(64, 128)
        self.down3, self.down4 = DoubleConv(128, 256), DoubleConv(256, 512)
        self.bottom = DoubleConv(512, 1024)
        self.up4, self.up3, self.up2, self.up1 = Up(1024), Up(512), Up(256), Up(128)
        self.head = nn.Conv2d(64, 2, 1)

    def forward(self, x):
        skips = []
        for d in [self.down1, self.down2, self.down3, self.down4]:
            x = d(x)
            skips.append(x)
            x = nn.functional.max_pool2d(x, 2)
        x = self.bottom(x)
        for up, skip in zip([self.up4, self.up3, self.up2, self.up1], reversed(skips)):
            x = up(x, skip)
        return self.head(x)


class AllCNNC(nn.Module):
    """zoo/allcnn.yaml's All-CNN-C (Springenberg et al. 2015, table 2), with the same module names."""

    def __init__(self, num_classes=10):
        super().__init__()
        widths = [(3, 96, 3, 1, 1), (96, 96, 3, 1, 1), (96, 96, 3, 2, 1), (96, 192, 3, 1, 1), (192, 192, 3, 1, 1),
                  (192, 192, 3, 2, 1), (192, 192, 3, 1, 0), (192, 192, 1, 1, 0), (192, num_classes, 1, 1, 0)]
        for i, (cin, cout, k, s, p) in enumerate(widths):
            setattr(self, f"conv{i + 1}", nn.Conv2d(cin, cout, k, stride=s, padding=p))
        self.drop_input, self.drop3, self.drop6 = nn.Dropout(0.2), nn.Dropout(0.5), nn.Dropout(0.5)

    def forward(self, x):
        x = self.drop_input(x)
        for i in range(1, 10):
            x = torch.relu(getattr(self, f"conv{i}")(x))
            if i in (3, 6):
                x = getattr(self, f"drop{i}")(x)
        return torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)


class GatedConv(nn.Module):
    """O = LeakyReLU_0.2(feature(I)) * sigmoid(gate(I)) (Yu et al. 2019), zoo/gated.yaml's `gated`."""

    def __init__(self, cin, cout, k=3, stride=1, dilation=1):
        super().__init__()
        pad = dilation * (k - 1) // 2
        self.feature = nn.Conv2d(cin, cout, k, stride=stride, padding=pad, dilation=dilation)
        self.gate = nn.Conv2d(cin, cout, k, stride=stride, padding=pad, dilation=dilation)

    def forward(self, x):
        return nn.functional.leaky_relu(self.feature(x), 0.2) * torch.sigmoid(self.gate(x))


class GatedUp(nn.Module):
    """×2 nearest upsampling, then a gated 3×3 (the authors' gen_deconv)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = GatedConv(cin, cout)

    def forward(self, x):
        return self.conv(nn.functional.interpolate(x, scale_factor=2, mode="nearest"))


class GatedInpaintCoarse(nn.Module):
    """zoo/gated.yaml's coarse inpainting generator (cnum = 48), with the same module names."""

    def __init__(self, cnum=48):
        super().__init__()
        c = cnum // 2
        self.conv1 = GatedConv(5, c, 5)
        self.conv2_downsample = GatedConv(c, 2 * c, stride=2)
        self.conv3 = GatedConv(2 * c, 2 * c)
        self.conv4_downsample = GatedConv(2 * c, 4 * c, stride=2)
        self.conv5 = GatedConv(4 * c, 4 * c)
        self.conv6 = GatedConv(4 * c, 4 * c)
        for i, d in zip(range(7, 11), (2, 4, 8, 16)):
            setattr(self, f"conv{i}_atrous", GatedConv(4 * c, 4 * c, dilation=d))
        self.conv11 = GatedConv(4 * c, 4 * c)
        self.conv12 = GatedConv(4 * c, 4 * c)
        self.conv13_upsample = GatedUp(4 * c, 2 * c)
        self.conv14 = GatedConv(2 * c, 2 * c)
        self.conv15_upsample = GatedUp(2 * c, c)
        self.conv16 = GatedConv(c, c // 2)
        self.conv17 = nn.Conv2d(c // 2, 3, 3, padding=1)

    def forward(self, x):
        for name, m in self.named_children():
            x = m(x)
        return torch.tanh(x)


def build(name):
    import torchvision

    tv = torchvision.models
    if name == "lenet5":
        return LeNet5()
    if name == "unet":
        return UNet()
    if name == "fcn_resnet50":
        return tv.segmentation.fcn_resnet50(weights=None, weights_backbone=None, aux_loss=None)
    if name == "allcnn_c":
        return AllCNNC()
    if name == "gated_inpaint_coarse":
        return GatedInpaintCoarse()
    if name == "googlenet":
        return tv.googlenet(weights=None, aux_logits=False, init_weights=False, transform_input=False)
    if name in ("inception_v3", "inception_v3_noaux"):
        return tv.inception_v3(weights=None, aux_logits=name == "inception_v3", init_weights=False,
                               transform_input=False)
    return getattr(tv, name)(weights=None)


def seeded_input(shape):
    n = int(np.prod(shape))
    return (np.float32(2) * uniform("input", n) - np.float32(1)).reshape(shape)


def forward(name, shape):
    model = load_seeded(build(name))
    x = seeded_input(shape)
    with torch.no_grad():
        y = model(torch.from_numpy(x))
    if isinstance(y, dict):
        y = y["out"]  # torchvision's segmentation models
    return model, x, y.numpy()


# The fixtures CI checks: model, input shape (batch first). Small inputs keep the tests fast.
FIXTURE_SET = [
    ("lenet5", (2, 1, 32, 32)),
    ("resnet18", (1, 3, 64, 64)),
    ("googlenet", (1, 3, 64, 64)),
    ("densenet121", (1, 3, 64, 64)),
    ("mobilenet_v2", (1, 3, 64, 64)),
    ("fcn_resnet50", (1, 3, 64, 64)),
    ("unet", (1, 1, 220, 220)),
    ("mobilenet_v3_large", (1, 3, 64, 64)),
    ("efficientnet_b0", (1, 3, 64, 64)),
    ("shufflenet_v2_x1_0", (1, 3, 64, 64)),
    ("mnasnet1_0", (1, 3, 64, 64)),
]

# The fixtures of the SqueezeNets, Inception-v3 (without its auxiliary head, which needs a 17×17 grid and
# so about 299×299 input; 75×75 is torchvision's minimum), All-CNN-C and the gated inpainting generator,
# checked in EngineModelTests on every kernel set (`--classic` writes only these).
CLASSIC_SET = [
    ("squeezenet1_0", (1, 3, 64, 64)),
    ("squeezenet1_1", (1, 3, 64, 64)),
    ("inception_v3_noaux", (1, 3, 75, 75)),
    ("allcnn_c", (2, 3, 32, 32)),
    ("gated_inpaint_coarse", (1, 5, 32, 32)),
]

# Every torchvision-compatible model of the zoo.
ALL = [
    "lenet5", "alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
    "googlenet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
    "wide_resnet50_2", "densenet121", "densenet161", "densenet169", "densenet201", "mobilenet_v2",
    "squeezenet1_0", "squeezenet1_1", "inception_v3_noaux",
    "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0", "efficientnet_b1", "shufflenet_v2_x0_5",
    "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0", "mnasnet1_0",
]


def write_model_fixtures(models):
    os.makedirs(FIXTURES, exist_ok=True)
    for name, shape in models:
        _, _, y = forward(name, shape)
        path = os.path.join(FIXTURES, f"{name}.npy")
        np.save(path, y.astype(np.float32))
        print(f"{path}: input {shape}, output {y.shape}, max |y| {np.abs(y).max():.4g}")


def write_fixtures():
    write_model_fixtures(FIXTURE_SET + CLASSIC_SET)
    write_activation_fixtures()
    write_conv_transpose_fixtures()
    write_merge_fixtures()
    write_channel_fixtures()
    write_resize_fixtures()
    write_padding_fixtures()
    write_unpool_fixtures()
    write_local_fixtures()


class ActivationNet(nn.Module):
    """The network of Tests/ZooTests/ActivationTests.swift: each activation of mobile networks once, after
    convolutions (and batch norms) the engine fuses it into."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.b1 = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.b2 = nn.BatchNorm2d(8)
        self.c3 = nn.Conv2d(8, 16, 1)
        self.c4 = nn.Conv2d(16, 16, 3, padding=1, stride=2)
        self.c5 = nn.Conv2d(16, 8, 1)
        self.c6 = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        x = nn.ReLU6()(self.b1(self.c1(x)))
        x = nn.Hardswish()(self.b2(self.c2(x)))
        x = nn.GELU()(self.c3(x))
        x = nn.GELU(approximate="tanh")(self.c4(x))
        x = nn.SiLU()(self.c5(x))
        x = nn.Hardsigmoid()(self.c6(x))
        return self.fc(torch.flatten(x, 1))


# The input of ActivationNet is 8 × the seeded input, so that ReLU6 and the hard functions reach their clamps.
ACTIVATION_NET_INPUT = (2, 3, 8, 8)
ACTIVATION_NET_INPUT_SCALE = 8

# The activations of activation_values.npy, one row each, at x = k/8 for k in −96…96, then ±20 and ±100.
ACTIVATION_ROWS = [
    nn.ReLU6(), nn.Hardsigmoid(), nn.Hardswish(), nn.SiLU(), nn.GELU(), nn.GELU(approximate="tanh"),
]


def activation_points():
    return np.concatenate([np.arange(-96, 97, dtype=np.float32) / np.float32(8), np.float32([-20, 20, -100, 100])])


def write_activation_fixtures():
    x = torch.from_numpy(activation_points())
    with torch.no_grad():
        rows = np.stack([f(x).numpy() for f in ACTIVATION_ROWS]).astype(np.float32)
    path = os.path.join(FIXTURES, "activation_values.npy")
    np.save(path, rows)
    print(f"{path}: {rows.shape}")
    model = load_seeded(ActivationNet())
    x = seeded_input(ACTIVATION_NET_INPUT) * np.float32(ACTIVATION_NET_INPUT_SCALE)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    path = os.path.join(FIXTURES, "activation_net.npy")
    np.save(path, y.astype(np.float32))
    print(f"{path}: input {ACTIVATION_NET_INPUT}, output {y.shape}, max |y| {np.abs(y).max():.4g}")


class ConvTransposeNet(nn.Module):
    """The network of Tests/ZooTests/ConvTransposeTests.swift: transposed convolutions with strides 1, 2 and
    (2, 3), output padding, groups, dilation, a rectangular kernel and no bias, with a ReLU the engine fuses."""

    def __init__(self):
        super().__init__()
        self.t1 = nn.ConvTranspose2d(6, 8, 3, stride=2, padding=1, output_padding=1)
        self.t2 = nn.ConvTranspose2d(8, 8, 3, padding=2, dilation=2, groups=4)
        self.b2 = nn.BatchNorm2d(8)
        self.t3 = nn.ConvTranspose2d(8, 4, (4, 3), stride=(2, 3), padding=(1, 0), output_padding=(0, 2), bias=False)
        self.t4 = nn.ConvTranspose2d(4, 2, 2, stride=2, output_padding=2, dilation=3)

    def forward(self, x):
        x = torch.relu(self.t1(x))
        x = nn.SiLU()(self.b2(self.t2(x)))
        return self.t4(self.t3(x))


CONV_TRANSPOSE_NET_INPUT = (2, 6, 5, 7)


def write_conv_transpose_fixtures():
    import json

    model = load_seeded(ConvTransposeNet())
    x = seeded_input(CONV_TRANSPOSE_NET_INPUT)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    path = os.path.join(FIXTURES, "conv_transpose_net.npy")
    np.save(path, y.astype(np.float32))
    print(f"{path}: input {CONV_TRANSPOSE_NET_INPUT}, output {y.shape}, max |y| {np.abs(y).max():.4g}")
    # Reference counts for one sample: parameters from torch, multiplications from fvcore's conv handle
    # (`batch · prod(w_shape) · prod(x_shape[2:])` for a transposed convolution) and torch's own flop counter.
    one = torch.from_numpy(x[:1])
    counts = {"input": list(CONV_TRANSPOSE_NET_INPUT[1:]), "layers": {}}
    shapes = {}
    hooks = [
        m.register_forward_hook(lambda m, i, o, n=n: shapes.__setitem__(n, (list(i[0].shape), list(o.shape))))
        for n, m in model.named_modules()
        if isinstance(m, nn.ConvTranspose2d)
    ]
    with torch.no_grad():
        model(one)
    for h in hooks:
        h.remove()
    try:
        from fvcore.nn import FlopCountAnalysis

        fv = FlopCountAnalysis(model, one)
        fv.unsupported_ops_warnings(False)
        fv.uncalled_modules_warnings(False)
        fv_by_module = fv.by_module()
    except ImportError:
        fv_by_module = None
    from torch.utils.flop_counter import FlopCounterMode

    for name, m in model.named_modules():
        if not isinstance(m, nn.ConvTranspose2d):
            continue
        with FlopCounterMode(display=False) as fc:
            with torch.no_grad():
                m(torch.zeros(shapes[name][0]))
        row = {
            "params": sum(p.numel() for p in m.parameters()),
            "output": shapes[name][1][1:],
            "torch_flop_counter_flops": fc.get_total_flops(),
        }
        if fv_by_module is not None:
            row["fvcore_macs"] = fv_by_module[name]
        counts["layers"][name] = row
    path = os.path.join(FIXTURES, "conv_transpose_counts.json")
    with open(path, "w") as f:
        json.dump(counts, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{path}: {counts}")
class MergeNet(nn.Module):
    """The network of Tests/ZooTests/MergeBroadcastTests.swift: a squeeze-and-excitation block (a C×1×1 gate
    times the feature map), a gated convolution tanh(conv_f(x)) · sigmoid(conv_g(x)), a 1×H×W broadcast add,
    and a mul of three inputs, one of them C×1×W (an adaptive pool to one row)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.se_reduce = nn.Conv2d(8, 2, 1)
        self.se_expand = nn.Conv2d(2, 8, 1)
        self.feature = nn.Conv2d(8, 6, 3, padding=1)
        self.gate = nn.Conv2d(8, 6, 3, padding=1)
        self.spatial = nn.Conv2d(6, 1, 1)
        self.fc = nn.Linear(6 * 8 * 8, 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        s = nn.functional.adaptive_avg_pool2d(x, 1)
        x = x * torch.sigmoid(self.se_expand(torch.relu(self.se_reduce(s))))
        x = torch.tanh(self.feature(x)) * torch.sigmoid(self.gate(x))
        x = torch.relu(self.spatial(x) + x)
        x = x * torch.sigmoid(x) * nn.functional.adaptive_avg_pool2d(x, (1, 8))
        return self.fc(torch.flatten(x, 1))


MERGE_NET_INPUT = (2, 3, 8, 8)


def write_merge_fixtures():
    model = load_seeded(MergeNet())
    x = seeded_input(MERGE_NET_INPUT)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    path = os.path.join(FIXTURES, "merge_net.npy")
    np.save(path, y.astype(np.float32))
    print(f"{path}: input {MERGE_NET_INPUT}, output {y.shape}, max |y| {np.abs(y).max():.4g}")


def channel_shuffle(x, groups):
    """torchvision.models.shufflenetv2.channel_shuffle, verbatim in substance: view the channels as
    [groups, C / groups], transpose, flatten."""
    batchsize, num_channels, height, width = x.size()
    channels_per_group = num_channels // groups
    x = x.view(batchsize, groups, channels_per_group, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(batchsize, num_channels, height, width)


class ChannelNet(nn.Module):
    """The network of Tests/ZooTests/ChannelOpsTests.swift: a stem, a ShuffleNetV2 basic unit
    (x.chunk(2, dim=1), the second half through 1×1 conv, bn, relu, 3×3 depthwise conv, bn, 1×1 conv, bn,
    relu; cat; channel_shuffle 2), a chunk of 8 channels into 3 (3, 3, 2) with a convolution on the middle
    piece, a split by sizes [1, 6, 3] (sigmoid, identity, 1×1 conv), a shuffle in 5 groups, and a linear head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.b_conv1 = nn.Conv2d(4, 4, 1, bias=False)
        self.b_bn1 = nn.BatchNorm2d(4)
        self.b_dw = nn.Conv2d(4, 4, 3, padding=1, groups=4, bias=False)
        self.b_bn2 = nn.BatchNorm2d(4)
        self.b_conv2 = nn.Conv2d(4, 4, 1, bias=False)
        self.b_bn3 = nn.BatchNorm2d(4)
        self.mid = nn.Conv2d(3, 5, 3, padding=1)
        self.last = nn.Conv2d(3, 3, 1)
        self.fc = nn.Linear(10 * 6 * 6, 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x1, x2 = x.chunk(2, dim=1)
        x2 = torch.relu(self.b_bn1(self.b_conv1(x2)))
        x2 = self.b_bn2(self.b_dw(x2))
        x2 = torch.relu(self.b_bn3(self.b_conv2(x2)))
        x = channel_shuffle(torch.cat((x1, x2), dim=1), 2)
        a, b, c = x.chunk(3, dim=1)
        x = torch.cat((a, torch.relu(self.mid(b)), c), dim=1)
        a, b, c = torch.split(x, [1, 6, 3], dim=1)
        x = torch.cat((torch.sigmoid(a), b, self.last(c)), dim=1)
        x = channel_shuffle(x, 5)
        return self.fc(torch.flatten(x, 1))


CHANNEL_NET_INPUT = (2, 3, 6, 6)


def write_channel_fixtures():
    model = load_seeded(ChannelNet())
    x = seeded_input(CHANNEL_NET_INPUT)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    path = os.path.join(FIXTURES, "channel_net.npy")
    np.save(path, y.astype(np.float32))
    print(f"{path}: input {CHANNEL_NET_INPUT}, output {y.shape}, max |y| {np.abs(y).max():.4g}")
class ResizeNet(nn.Module):
    """The network of Tests/ZooTests/ResizeTests.swift: nearest upsampling ×2, bilinear upsampling to a size
    without and with align_corners, and adaptive max pooling to a size that does not divide the input."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.mid = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 7 * 9, 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        x = self.mid(x)
        x = nn.functional.interpolate(x, size=(15, 13), mode="bilinear", align_corners=False)
        x = nn.functional.adaptive_max_pool2d(x, (4, 5))
        x = nn.functional.interpolate(x, size=(7, 9), mode="bilinear", align_corners=True)
        return self.fc(torch.flatten(x, 1))


RESIZE_NET_INPUT = (2, 3, 6, 5)


def write_resize_fixtures():
    model = load_seeded(ResizeNet())
    x = seeded_input(RESIZE_NET_INPUT)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    path = os.path.join(FIXTURES, "resize_net.npy")
    np.save(path, y.astype(np.float32))
    print(f"{path}: input {RESIZE_NET_INPUT}, output {y.shape}, max |y| {np.abs(y).max():.4g}")


class PadNet(nn.Module):
    """The network of Tests/ZooTests/PaddingTests.swift: convolutions with padding_mode reflect, replicate and
    circular, padding='same' with an even kernel (reflect), an asymmetric zero padding (nn.ZeroPad2d then the
    convolution), F.pad in every mode (constant with a value), a centre crop, an offset crop, and a bilinear
    upsampling to the network input's size."""

    def __init__(self):
        super().__init__()
        self.reflect = nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect")
        self.replicate = nn.Conv2d(4, 4, 3, padding=2, padding_mode="replicate")
        self.circular = nn.Conv2d(4, 4, (3, 5), padding=(1, 2), padding_mode="circular")
        self.same = nn.Conv2d(4, 4, 4, padding="same", padding_mode="reflect")
        self.asym = nn.Conv2d(4, 4, 3)
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        size = x.shape[-2:]
        x = torch.relu(self.reflect(x))
        x = self.replicate(x)
        x = self.circular(x)
        x = self.same(x)
        x = self.asym(nn.ZeroPad2d((2, 0, 1, 0))(x))  # 10×10
        x = nn.functional.pad(x, (1, 2, 0, 3), mode="reflect")  # 13×13
        x = nn.functional.pad(x, (1, 1, 2, 0), value=0.5)  # 15×15
        const = x
        x = nn.functional.pad(x, (2, 1, 1, 2), mode="circular")  # 18×18
        x = nn.functional.pad(x, (0, 1, 1, 0), mode="replicate")  # 19×19
        dy, dx = (x.shape[2] - const.shape[2]) // 2, (x.shape[3] - const.shape[3]) // 2
        x = x[:, :, dy:dy + const.shape[2], dx:dx + const.shape[3]]  # centre crop to 15×15
        x = x[:, :, 3:3 + 10, 4:4 + 10]  # Caffe's crop at [3, 4] to 10×10
        x = self.head(x)
        return nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)


PAD_NET_INPUT = (2, 3, 9, 8)


def write_padding_fixtures():
    model = load_seeded(PadNet())
    x = seeded_input(PAD_NET_INPUT)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    path = os.path.join(FIXTURES, "pad_net.npy")
    np.save(path, y.astype(np.float32))
    print(f"{path}: input {PAD_NET_INPUT}, output {y.shape}, max |y| {np.abs(y).max():.4g}")


class UnpoolNet(nn.Module):
    """The network of Tests/ZooTests/UnpoolTests.swift: a reduced SegNet (two encoder stages whose max pools keep
    their switches, the second 3×3/2 with padding, so windows overlap; a decoder unpooling by them to the pools'
    input sizes, which differ from nn.MaxUnpool2d's default formula), then maxout over groups of 3 channels."""

    def __init__(self):
        super().__init__()
        self.enc1 = nn.Conv2d(3, 8, 3, padding=1)
        self.enc1_bn = nn.BatchNorm2d(8)
        self.enc2 = nn.Conv2d(8, 8, 3, padding=1)
        self.enc2_bn = nn.BatchNorm2d(8)
        self.mid = nn.Conv2d(8, 8, 3, padding=1)
        self.dec2 = nn.Conv2d(8, 8, 3, padding=1)
        self.dec2_bn = nn.BatchNorm2d(8)
        self.dec1 = nn.Conv2d(8, 6, 3, padding=1)

    def forward(self, x):
        F = nn.functional
        x = torch.relu(self.enc1_bn(self.enc1(x)))
        size1 = x.shape[-2:]
        x, i1 = F.max_pool2d(x, 2, 2, return_indices=True)
        x = torch.relu(self.enc2_bn(self.enc2(x)))
        size2 = x.shape[-2:]
        x, i2 = F.max_pool2d(x, 3, 2, padding=1, return_indices=True)
        x = self.mid(x)
        x = F.max_unpool2d(x, i2, 3, 2, padding=1, output_size=size2)
        x = torch.relu(self.dec2_bn(self.dec2(x)))
        x = F.max_unpool2d(x, i1, 2, 2, output_size=size1)
        x = self.dec1(x)
        n, c, h, w = x.shape
        return x.view(n, c // 3, 3, h, w).amax(2)


UNPOOL_NET_INPUT = (2, 3, 11, 9)


def write_unpool_fixtures():
    model = load_seeded(UnpoolNet())
    x = seeded_input(UNPOOL_NET_INPUT)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    path = os.path.join(FIXTURES, "unpool_net.npy")
    np.save(path, y.astype(np.float32))
    print(f"{path}: input {UNPOOL_NET_INPUT}, output {y.shape}, max |y| {np.abs(y).max():.4g}")


class Local2d(nn.Module):
    """A locally connected (tile None: one kernel per output position) or tiled convolution, as CNN Zoo's
    `local`: weight [th, tw, out, in, kh, kw], bias [th, tw, out]; position (y, x) uses kernel [y % th, x % tw]."""

    def __init__(self, cin, cout, kernel, stride, padding, out_size, tile=None, bias=True):
        super().__init__()
        self.kernel, self.stride, self.padding = kernel, stride, padding
        th, tw = tile or out_size
        self.weight = nn.Parameter(torch.zeros(th, tw, cout, cin, *kernel))
        self.bias = nn.Parameter(torch.zeros(th, tw, cout)) if bias else None

    def forward(self, x):
        n, _, h, w = x.shape
        oh = (h + 2 * self.padding[0] - self.kernel[0]) // self.stride[0] + 1
        ow = (w + 2 * self.padding[1] - self.kernel[1]) // self.stride[1] + 1
        cols = nn.functional.unfold(x, self.kernel, padding=self.padding, stride=self.stride)  # [N, in·kh·kw, L]
        th, tw, cout = self.weight.shape[:3]
        iy, ix = torch.arange(oh) % th, torch.arange(ow) % tw
        wl = self.weight[iy][:, ix].reshape(oh * ow, cout, -1)  # [L, out, in·kh·kw]
        y = torch.einsum("nkl,lok->nol", cols, wl).reshape(n, cout, oh, ow)
        if self.bias is not None:
            y = y + self.bias[iy][:, ix].permute(2, 0, 1)
        return y


class LocalNet(nn.Module):
    """The network of Tests/ZooTests/LocalTests.swift: an unshared 3×3 layer with padding, a tiled [3, 2]/2 layer
    with tile [2, 3], an unshared 2×2 layer without bias."""

    def __init__(self):
        super().__init__()
        self.l1 = Local2d(3, 4, (3, 3), (1, 1), (1, 1), (7, 6))
        self.t2 = Local2d(4, 5, (3, 2), (2, 2), (1, 0), (4, 3), tile=(2, 3))
        self.l3 = Local2d(5, 3, (2, 2), (1, 1), (0, 0), (3, 2), bias=False)

    def forward(self, x):
        return self.l3(torch.relu(self.t2(torch.relu(self.l1(x)))))


LOCAL_NET_INPUT = (2, 3, 7, 6)


def write_local_fixtures():
    model = LocalNet()
    sd = {}
    for name, m in model.named_modules():
        if isinstance(m, Local2d):
            fan_in = m.weight.shape[3] * m.weight.shape[4] * m.weight.shape[5]
            bound = np.float32(1 / math.sqrt(fan_in))
            sd[name + ".weight"] = symmetric(name + ".weight", m.weight.numel(), bound).reshape(m.weight.shape)
            if m.bias is not None:
                sd[name + ".bias"] = symmetric(name + ".bias", m.bias.numel(), bound).reshape(m.bias.shape)
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}, strict=True)
    x = seeded_input(LOCAL_NET_INPUT)
    with torch.no_grad():
        y = model.eval()(torch.from_numpy(x)).numpy()
    path = os.path.join(FIXTURES, "local_net.npy")
    np.save(path, y.astype(np.float32))
    print(f"{path}: input {LOCAL_NET_INPUT}, output {y.shape}, max |y| {np.abs(y).max():.4g}")


def check_all(zoo, size, winograd=False):
    from safetensors.torch import save_file

    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name in ALL:
            shape = (1, 1, 32, 32) if name == "lenet5" else (1, 3, size, size)
            model, x, y = forward(name, shape)
            w = os.path.join(tmp, "w.safetensors")
            save_file(model.state_dict(), w)  # the torchvision export, num_batches_tracked included
            xi, yo = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
            np.save(xi, x)
            r = subprocess.run([zoo, "run", name, xi, "--weights", w, "--output", yo, "--top", "0"]
                               + (["--winograd"] if winograd else []), capture_output=True, text=True)
            if r.returncode != 0:
                print(f"{name:18} FAILED: {r.stderr.strip()}")
                worst = float("inf")
                continue
            z = np.load(yo)
            err = float(np.abs(z - y).max() / np.abs(y).max())
            worst = max(worst, err)
            print(f"{name:18} input {shape}  max |zoo − torch| / max |torch| = {err:.2e}  {'ok' if err <= 1e-4 else 'FAIL'}")
    print(f"worst relative error {worst:.2e}")
    return worst <= 1e-4


def write_classes():
    from torchvision.models._meta import _IMAGENET_CATEGORIES as names

    lines = [
        "/// The 1000 ImageNet-1k class names in index order (torchvision's weight metadata), compiled in so",
        "/// `zoo run --top K` works from any directory. Generated by scripts/make_fixtures.py --classes.",
        "public enum ImageNet {",
        "  public static let classNames: [String] = [",
    ]
    lines += ['    "%s",' % n.replace("\\", "\\\\").replace('"', '\\"') for n in names]
    lines += ["  ]", "}"]
    with open(os.path.join(ROOT, "Sources", "ZooEngine", "ImageNetClasses.swift"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--check-all", metavar="ZOO", help="path of the built zoo binary")
    ap.add_argument("--size", type=int, default=96, help="input size for --check-all")
    ap.add_argument("--winograd", action="store_true", help="--check-all runs `zoo run --winograd`")
    ap.add_argument("--classes", action="store_true")
    ap.add_argument("--activations", action="store_true", help="write only the activation fixtures")
    ap.add_argument("--conv-transpose", action="store_true", help="write only the transposed-convolution fixtures")
    ap.add_argument("--merges", action="store_true", help="write only the merge fixture")
    ap.add_argument("--channels", action="store_true", help="write only the channel-operations fixture")
    ap.add_argument("--resize", action="store_true", help="write only the upsampling and adaptive max pool fixture")
    ap.add_argument("--padding", action="store_true", help="write only the padding, pad and crop fixture")
    ap.add_argument("--segmentation", action="store_true", help="write only the FCN-ResNet50 and U-Net fixtures")
    ap.add_argument("--unpool", action="store_true", help="write only the unpooling and maxout fixture")
    ap.add_argument("--local", action="store_true", help="write only the locally connected and tiled fixture")
    ap.add_argument("--classic", action="store_true",
                    help="write only the SqueezeNet, Inception-v3, All-CNN-C and gated inpainting fixtures")
    a = ap.parse_args()
    torch.set_num_threads(2)
    if a.classes:
        write_classes()
    elif a.activations:
        write_activation_fixtures()
    elif a.conv_transpose:
        write_conv_transpose_fixtures()
    elif a.merges:
        write_merge_fixtures()
    elif a.channels:
        write_channel_fixtures()
    elif a.resize:
        write_resize_fixtures()
    elif a.padding:
        write_padding_fixtures()
    elif a.segmentation:
        write_model_fixtures([(n, s) for n, s in FIXTURE_SET if n in ("fcn_resnet50", "unet")])
    elif a.unpool:
        write_unpool_fixtures()
    elif a.local:
        write_local_fixtures()
    elif a.classic:
        write_model_fixtures(CLASSIC_SET)
    elif a.check_all:
        sys.exit(0 if check_all(a.check_all, a.size, a.winograd) else 1)
    else:
        write_fixtures()
