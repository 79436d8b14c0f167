#!/usr/bin/env python3
"""ONNX import fixtures: small networks with random weights, each exported by both of PyTorch's
exporters, with ONNX Runtime's output for a fixed input and the counts computed from the file.

Needs torch, onnx, onnxruntime, onnxscript and numpy (none is a dependency of the project; the tests read
the committed files only):

  python scripts/make_onnx_fixtures.py      # writes Tests/ZooTests/Fixtures/onnx/ (committed)

For every fixture NAME it writes NAME.onnx (plus NAME.onnx.data for external data), NAME.out.npy (ONNX
Runtime's output for the input INPUT.npy named in expected.json), and an entry of expected.json:

  params  the elements of the weights the file's Conv, ConvTranspose, Gemm and MatMul nodes read, plus the
          scale and bias of its BatchNormalization nodes (running statistics are buffers), counted once per
          node that reads them (docs/conventions.md);
  macs    for Conv: output elements × input channels per group × kernel elements; ConvTranspose: input
          elements × output channels per group × kernel elements; Gemm and MatMul: input features × output
          features; with the shapes ONNX's shape inference gives for the fixture's input;
  output  ONNX Runtime's output shape without the batch.
  input   the sample shape passed to the importer (only for files whose input is symbolic).
  folded  how many convolutions the exporter folded a batch norm into (0 when the file keeps BN nodes).
"""
import json
import os
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "ZooTests", "Fixtures", "onnx")

warnings.filterwarnings("ignore")


def randomize(m, seed):
    """Random weights and batch-norm statistics, so a folded batch norm changes the weights."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.copy_(torch.randn(mod.running_mean.shape, generator=g) * 0.2)
                mod.running_var.copy_(torch.rand(mod.running_var.shape, generator=g) + 0.5)
    return m.eval()


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + idt)


class ResNetTiny(nn.Module):
    """A reduced ResNet: torchvision's stem, two stages of basic blocks, average pool and classifier."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(BasicBlock(8, 8, 1), BasicBlock(8, 8, 1))
        self.layer2 = nn.Sequential(BasicBlock(8, 16, 2), BasicBlock(16, 16, 1))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class OpsNet(nn.Module):
    """One of most ops the importer maps (PyTorch writes LocalResponseNorm and GELU as decompositions, so
    they are not here)."""

    def __init__(self):
        super().__init__()
        self.grouped = nn.Conv2d(3, 12, 3, padding=2, dilation=2, groups=3)
        self.bn = nn.BatchNorm2d(12)
        self.same = nn.Conv2d(12, 12, 4, padding="same")
        self.up = nn.ConvTranspose2d(12, 6, 3, stride=2, padding=1, output_padding=1)
        self.pool = nn.MaxPool2d(3, 2, 1, ceil_mode=True)
        self.avg = nn.AvgPool2d(3, 2, 1, count_include_pad=False)
        self.reflect = nn.ReflectionPad2d((1, 2, 0, 1))
        self.conv_r = nn.Conv2d(6, 6, 3)
        self.head = nn.Conv2d(12, 8, 1)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        x = self.bn(self.grouped(x))
        x = F.relu6(x)
        x = self.same(x)
        a, b = x[:, :6], x[:, 6:]
        a = torch.sigmoid(a) * torch.tanh(b)
        b = F.leaky_relu(b, 0.1) + F.hardswish(a)
        x = torch.cat([F.hardsigmoid(a), b], 1)
        y = self.up(x)
        y = self.pool(y)
        y = self.avg(y)
        z = self.conv_r(self.reflect(y[:, :6]))
        z = F.interpolate(z, scale_factor=2, mode="nearest")
        z = torch.cat([z, z], 1)
        x = self.head(z)
        x = F.adaptive_max_pool2d(x, 1) + x.mean((2, 3), keepdim=True)
        x = F.interpolate(x, size=(4, 4), mode="bilinear", align_corners=True)
        return F.softmax(self.fc(self.drop(torch.flatten(x, 1))), 1)


class UNetTiny(nn.Module):
    """A two-level U-Net whose logits are resized to the input's size."""

    def __init__(self):
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.enc2 = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU())
        self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)
        self.dec = nn.Sequential(nn.Conv2d(16, 8, 3, padding=1), nn.ReLU())
        self.classifier = nn.Conv2d(8, 4, 1, stride=2)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        d = self.dec(torch.cat([self.up(e2), e1], 1))
        return F.interpolate(self.classifier(d), size=x.shape[-2:], mode="bilinear", align_corners=False)


def channel_shuffle(x, groups):
    n, c, h, w = x.size()
    x = x.view(n, groups, c // groups, h, w)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(n, -1, h, w)


class ShuffleUnit(nn.Module):
    def __init__(self, c):
        super().__init__()
        half = c // 2
        self.branch2 = nn.Sequential(
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True),
            nn.Conv2d(half, half, 3, 1, 1, groups=half, bias=False), nn.BatchNorm2d(half),
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True))

    def forward(self, x):
        x1, x2 = x.chunk(2, dim=1)
        return channel_shuffle(torch.cat((x1, self.branch2(x2)), 1), 2)


class ShuffleTiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True))
        self.stage2 = nn.Sequential(ShuffleUnit(16), ShuffleUnit(16))
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = self.stage2(self.conv1(x))
        return self.fc(x.mean([2, 3]))


class GatedConv(nn.Module):
    def __init__(self, cin, cout, stride=1, dilation=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, 2 * cout, 3, stride, dilation, dilation)
        self.cout = cout

    def forward(self, x):
        f, g = torch.split(self.conv(x), self.cout, dim=1)
        return F.leaky_relu(f, 0.2) * torch.sigmoid(g)


class GatedTiny(nn.Module):
    """Gated convolutions (Yu et al. 2019, as DeepFill's coarse network), down and up again."""

    def __init__(self):
        super().__init__()
        self.g1 = GatedConv(4, 8)
        self.g2 = GatedConv(8, 16, stride=2)
        self.g3 = GatedConv(16, 16, dilation=2)
        self.g4 = GatedConv(16, 8)
        self.out = nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, x):
        x = self.g3(self.g2(self.g1(x)))
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return torch.tanh(self.out(self.g4(x)))


class SqueezeExcite(nn.Module):
    def __init__(self, c, s):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, s, 1)
        self.fc2 = nn.Conv2d(s, c, 1)
        self.relu = nn.ReLU()
        self.scale_activation = nn.Hardsigmoid()

    def forward(self, x):
        return x * self.scale_activation(self.fc2(self.relu(self.fc1(self.avgpool(x)))))


class InvertedResidual(nn.Module):
    def __init__(self, c, e):
        super().__init__()
        self.block = nn.Sequential(
            nn.Sequential(nn.Conv2d(c, e, 1, bias=False), nn.BatchNorm2d(e), nn.Hardswish()),
            nn.Sequential(nn.Conv2d(e, e, 3, 1, 1, groups=e, bias=False), nn.BatchNorm2d(e), nn.Hardswish()),
            SqueezeExcite(e, 8),
            nn.Sequential(nn.Conv2d(e, c, 1, bias=False), nn.BatchNorm2d(c)))

    def forward(self, x):
        return x + self.block(x)


class MobileTiny(nn.Module):
    """Depthwise separable blocks with squeeze-and-excitation, hard swish and SiLU (MobileNetV3-ish)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.SiLU()),
            InvertedResidual(16, 32), InvertedResidual(16, 32))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(16, 32), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(32, 7))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class GeluTiny(nn.Module):
    """GELU (exact, erf form) after convolutions and a linear layer: below opset 20 both exporters write it
    as x · 0.5 · (1 + erf(x / √2)), each in its own order of the products."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.act1 = nn.GELU()
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2)
        self.fc = nn.Linear(8, 6)

    def forward(self, x):
        x = F.gelu(self.conv2(self.act1(self.conv1(x))))
        return F.gelu(self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)))


class SegNetTiny(nn.Module):
    """A two-level SegNet: max pools that keep their switches, and a decoder that unpools by them back to
    each pool's input size (odd sizes, so the unpooling needs its output size)."""

    def __init__(self):
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.pool1 = nn.MaxPool2d(2, 2, return_indices=True)
        self.enc2 = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.pool2 = nn.MaxPool2d(2, 2, return_indices=True)
        self.unpool2 = nn.MaxUnpool2d(2, 2)
        self.dec2 = nn.Sequential(nn.Conv2d(16, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.unpool1 = nn.MaxUnpool2d(2, 2)
        self.dec1 = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.classifier = nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, x):
        e1 = self.enc1(x)
        p1, i1 = self.pool1(e1)
        e2 = self.enc2(p1)
        p2, i2 = self.pool2(e2)
        # Sizes as Python ints: the TorchScript tracer cannot check tensor sizes in max_unpool2d's size rule.
        d2 = self.dec2(self.unpool2(p2, i2, output_size=[int(s) for s in e2.shape[-2:]]))
        d1 = self.dec1(self.unpool1(d2, i1, output_size=[int(s) for s in e1.shape[-2:]]))
        return self.classifier(d1)


# Unpooling for PyTorch's exporters (docs/onnx.md shows the same code).
#
# PyTorch's max_pool2d_with_indices counts each index within its own H×W plane; ONNX's MaxPool counts its
# Indices over the whole N×C×H×W tensor, and ONNX's MaxUnpool takes those. The TorchScript exporter writes a
# MaxPool and then subtracts every plane's offset (a second 1×1 MaxPool, a Slice and a Sub), and it has no
# symbolic for max_unpool2d. The torch.export-based exporter writes the same subtraction and then a ScatterND
# for the unpooling. Both are given ONNX's standard MaxPool → MaxUnpool below.

def max_unpool2d_symbolic(g, values, indices, output_size):
    """TorchScript: aten::max_unpool2d as ONNX MaxUnpool fed by the MaxPool's own (N×C×H×W) indices."""
    from torch.onnx import symbolic_helper

    sub = indices.node()
    flat = sub.inputsAt(0) if sub.kind() == "onnx::Sub" else None
    pool = flat.node() if flat is not None else None
    if pool is None or pool.kind() != "onnx::MaxPool":
        raise RuntimeError("max_unpool2d: the indices do not come from max_pool2d_with_indices")
    size = symbolic_helper._parse_arg(output_size, "is")
    batch_channels = g.op("Slice", g.op("Shape", values), g.op("Constant", value_t=torch.tensor([0])),
                          g.op("Constant", value_t=torch.tensor([2])))
    shape = g.op("Concat", batch_channels, g.op("Constant", value_t=torch.tensor(size, dtype=torch.int64)), axis_i=0)
    attr = getattr(pool, "is")  # the pool's kernel_shape, strides and pads (ints attributes)
    return g.op("MaxUnpool", values, flat, shape, kernel_shape_i=attr("kernel_shape"), strides_i=attr("strides"),
                pads_i=attr("pads"))


def unpool_translations():
    """torch.export: max_pool2d_with_indices as one MaxPool with ONNX's indices, and max_unpool2d as
    MaxUnpool. Only for models whose pool indices feed max_unpool2d alone (the indices are then ONNX's,
    not PyTorch's)."""
    from onnxscript import opset18 as op

    def max_pool2d_with_indices(x, kernel_size, stride=(), padding=(0, 0), dilation=(1, 1), ceil_mode=False):
        stride = stride or kernel_size
        return op.MaxPool(x, kernel_shape=list(kernel_size), strides=list(stride), pads=list(padding) * 2,
                          dilations=list(dilation), ceil_mode=int(ceil_mode))

    def max_unpool2d(x, indices, output_size):
        shape = op.Concat(op.Slice(op.Shape(x), [0], [2]), op.Constant(value_ints=list(output_size)), axis=0)
        # ONNX needs a kernel_shape, unused when output_shape is given (aten's op does not carry the pool's).
        k = [max(1, o // i) for o, i in zip(output_size, x.shape[2:])]
        return op.MaxUnpool(x, indices, shape, kernel_shape=k, strides=k)

    return {torch.ops.aten.max_pool2d_with_indices.default: max_pool2d_with_indices,
            torch.ops.aten.max_unpool2d.default: max_unpool2d}


def unpools(model):
    return any(isinstance(m, nn.MaxUnpool2d) for m in model.modules())


def export(model, x, path, dynamo, opset=None, dynamic=False, fold=True):
    if dynamo:
        kw = dict(dynamo=True, opset_version=opset or 18)
        if unpools(model):
            kw["custom_translation_table"] = unpool_translations()
        if dynamic:
            b, h, w = torch.export.Dim("batch"), torch.export.Dim("h", min=8, max=4096), torch.export.Dim("w", min=8, max=4096)
            kw["dynamic_shapes"] = ({0: b, 2: 2 * h, 3: 2 * w},)
        prog = torch.onnx.export(model, (x,), None, **kw)
        prog.save(path)
    else:
        kw = dict(dynamo=False, opset_version=opset or 17, do_constant_folding=fold, input_names=["x"], output_names=["y"])
        if unpools(model):
            torch.onnx.register_custom_op_symbolic("aten::max_unpool2d", max_unpool2d_symbolic, 11)
        if dynamic:
            kw["dynamic_axes"] = {"x": {0: "batch", 2: "height", 3: "width"}, "y": {0: "batch"}}
        torch.onnx.export(model, (x,), path, **kw)


def counts(model_path, x):
    """Params and MACs from the file (see the module's docstring), and ONNX Runtime's output."""
    m = onnx.load(model_path)
    # Shapes for this input: ONNX Runtime's, with every convolution's input and output made a graph output.
    probe = onnx.load(model_path)
    wanted = []
    for n in probe.graph.node:
        if n.op_type in ("Conv", "ConvTranspose"):
            wanted += [n.input[0], n.output[0]]
    known = {o.name for o in probe.graph.output}
    for name in dict.fromkeys(wanted):
        if name not in known:
            probe.graph.output.append(onnx.ValueInfoProto(name=name))
    folder = os.path.dirname(os.path.abspath(model_path))
    probe_path = os.path.join(folder, ".probe.onnx")
    onnx.save(probe, probe_path)
    try:
        sess = ort.InferenceSession(probe_path, providers=["CPUExecutionProvider"])
        values = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})
    finally:
        os.remove(probe_path)
    shapes = {o.name: list(v.shape) for o, v in zip(sess.get_outputs(), values)}
    sizes = {t.name: list(t.dims) for t in m.graph.initializer}
    alias = {}
    for n in m.graph.node:
        if n.op_type == "Identity" and n.input[0] in sizes:
            alias[n.output[0]] = n.input[0]
        if n.op_type == "Cast" and n.input[0] in sizes:  # float16 initializers widened by a Cast
            alias[n.output[0]] = n.input[0]
    for k, v in alias.items():
        sizes[k] = sizes[v]

    def numel(name):
        return int(np.prod(sizes[name])) if name in sizes else 0

    params = macs = 0
    for n in m.graph.node:
        ins = list(n.input)
        if n.op_type in ("Conv", "ConvTranspose", "Gemm"):
            params += sum(numel(i) for i in ins[1:3] if i)
        elif n.op_type == "MatMul":
            params += numel(ins[1])
        elif n.op_type == "BatchNormalization":
            params += numel(ins[1]) + numel(ins[2])
        elif n.op_type == "Add" and any(
            p.op_type == "MatMul" and p.output[0] in ins for p in m.graph.node) and any(i in sizes for i in ins):
            params += sum(numel(i) for i in ins if i in sizes)
        if n.op_type == "Conv":
            w = sizes[ins[1]]
            out = shapes[n.output[0]]
            macs += int(np.prod(out[1:])) * w[1] * w[2] * w[3]
        elif n.op_type == "ConvTranspose":
            w = sizes[ins[1]]
            xin = shapes[ins[0]]
            macs += int(np.prod(xin[1:])) * w[1] * w[2] * w[3]
        elif n.op_type in ("Gemm", "MatMul"):
            w = sizes[ins[1]]
            macs += w[0] * w[1]
    return params, macs, values[0]


def folded(path):
    m = onnx.load(path, load_external_data=False)
    bn = sum(n.op_type == "BatchNormalization" for n in m.graph.node)
    script = sum(n.op_type == "Conv" and n.input[1].startswith("onnx::") for n in m.graph.node)
    dyn = sum(
        n.op_type == "Conv" and any(p.key == "pkg.onnxscript.rewriter.rule_name" and "FuseBatchNorm" in p.value
                                    for p in n.metadata_props) for n in m.graph.node)
    return bn, script + dyn


def to_float16(src, dst):
    """The same model with float16 initializers, each widened by a Cast (how fp16-stored weights look)."""
    m = onnx.load(src)
    g = m.graph
    casts = []
    for t in g.initializer:
        if t.data_type != onnx.TensorProto.FLOAT:
            continue
        a = numpy_helper.to_array(t).astype(np.float16)
        half = numpy_helper.from_array(a, t.name + ".fp16")
        t.CopyFrom(half)
        casts.append(helper.make_node("Cast", [t.name], [t.name[: -len(".fp16")]], to=onnx.TensorProto.FLOAT,
                                      name="/Cast_" + t.name[: -len(".fp16")].replace("/", "_")))
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.save(m, dst)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    torch.manual_seed(0)
    nets = [
        ("resnet_tiny", ResNetTiny(), (3, 32, 32)),
        ("ops", OpsNet(), (3, 16, 16)),
        ("unet_tiny", UNetTiny(), (3, 16, 16)),
        ("shuffle_tiny", ShuffleTiny(), (3, 16, 16)),
        ("gated_tiny", GatedTiny(), (4, 16, 16)),
        ("mobile_tiny", MobileTiny(), (3, 16, 16)),
        ("segnet_tiny", SegNetTiny(), (3, 20, 14)),
        ("gelu_tiny", GeluTiny(), (3, 16, 16)),
    ]
    expected = {}
    inputs = {}

    def record(name, path, x, input_name, sample=None):
        params, macs, y = counts(path, x)
        np.save(os.path.join(OUT, name + ".out.npy"), y.astype(np.float32))
        bn, fold = folded(path)
        expected[name] = dict(params=params, macs=macs, output=list(y.shape[1:]), input=input_name,
                              folded=fold, batch_norms=bn)
        if sample is not None:
            expected[name]["sample"] = sample
        print(f"{name}: params {params}, MACs {macs}, output {list(y.shape)}, folded {fold}, bn {bn}")

    for seed, (net, model, shape) in enumerate(nets):
        model = randomize(model, seed + 1)
        key = "x_" + "x".join(map(str, shape))
        if key not in inputs:
            g = torch.Generator().manual_seed(100 + len(inputs))
            inputs[key] = torch.randn((1,) + shape, generator=g)
            np.save(os.path.join(OUT, key + ".npy"), inputs[key].numpy()[0])
        x = inputs[key]
        for exporter, dynamo in (("ts", False), ("dynamo", True)):
            name = f"{net}_{exporter}"
            path = os.path.join(OUT, name + ".onnx")
            export(model, x, path, dynamo)
            record(name, path, x, key)
        if net == "resnet_tiny":
            # Batch norm kept (no constant folding), opset 11.
            path = os.path.join(OUT, "resnet_tiny_bn_ts11.onnx")
            export(model, x, path, False, opset=11, fold=False)
            record("resnet_tiny_bn_ts11", path, x, key)
            # Float16 initializers.
            path16 = os.path.join(OUT, "resnet_tiny_fp16.onnx")
            to_float16(os.path.join(OUT, "resnet_tiny_ts.onnx"), path16)
            record("resnet_tiny_fp16", path16, x, key)
            # External data beside the model.
            m = onnx.load(os.path.join(OUT, "resnet_tiny_dynamo.onnx"))
            pe = os.path.join(OUT, "resnet_tiny_external.onnx")
            onnx.save_model(m, pe, save_as_external_data=True, all_tensors_to_one_file=True,
                            location="resnet_tiny_external.onnx.data", size_threshold=128)
            record("resnet_tiny_external", pe, x, key)
        if net == "unet_tiny":
            # Dynamic batch and spatial dims: the importer needs the sample shape.
            for exporter, dynamo in (("ts", False), ("dynamo", True)):
                name = f"unet_tiny_dynamic_{exporter}"
                path = os.path.join(OUT, name + ".onnx")
                x2 = torch.randn((1, 3, 24, 20), generator=torch.Generator().manual_seed(7))
                export(model, x2, path, dynamo, dynamic=True)
                if "x_3x24x20" not in inputs:
                    inputs["x_3x24x20"] = x2
                    np.save(os.path.join(OUT, "x_3x24x20.npy"), x2.numpy()[0])
                record(name, path, x2, "x_3x24x20", sample=[3, 24, 20])
    # Make sure no exporter left a stray external-data file behind for a fixture that does not use one.
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(expected)} fixtures, {total} bytes")


if __name__ == "__main__":
    main()
