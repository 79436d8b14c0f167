#!/usr/bin/env python3
"""Reference figures of torchvision's definitions, the ground truth of the zoo's counts and receptive fields.

Writes Tests/ZooTests/Fixtures/reference/torchvision.json and receptive_fields.json (committed; the tests
read them and fail when either is missing). Run it in a virtualenv outside the repository (torch,
torchvision and fvcore are not dependencies of the project):

  python3 -m venv /tmp/venv-ref && /tmp/venv-ref/bin/pip install torch torchvision fvcore
  /tmp/venv-ref/bin/python scripts/make_reference.py            # rewrites both files
  /tmp/venv-ref/bin/python scripts/make_reference.py --check    # compares instead of writing (exit 1 on a difference)
  /tmp/venv-ref/bin/python scripts/make_reference.py --out DIR  # writes into DIR instead

torchvision.json, per model at batch 1 and 3x224x224: the output shape, parameters, MACs of every Conv2d and
Linear (counted with forward hooks), fvcore's FlopCountAnalysis total and per-operator split, the output
elements of every BatchNorm2d, and every state-dict key with its shape.

receptive_fields.json, per endpoint: the receptive field measured by back-propagating from the centre unit of
the endpoint (and from its right-hand neighbour, for the stride) to the input, in float64, with the ReLUs
and ReLU6s removed (ReLU6 passes no gradient at 0), max pooling replaced by average pooling of the same
geometry and every weight positive, so that an input pixel gets a non-zero gradient exactly when some path
reaches it. The input grows until the field stays clear of the border.
"""
import argparse
import json
import os
import sys

import torch
import torch.nn as nn
import torchvision
from fvcore.nn import FlopCountAnalysis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "ZooTests", "Fixtures", "reference")

MODELS = [
    "alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "googlenet",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "wide_resnet50_2",
    "densenet121", "densenet161", "densenet169", "densenet201", "mobilenet_v2", "fcn_resnet50", "squeezenet1_0",
    "squeezenet1_1", "inception_v3", "inception_v3_noaux",
    "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0", "efficientnet_b1", "shufflenet_v2_x0_5",
    "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0", "mnasnet1_0",
]

ENDPOINTS = [
    "alexnet/features", "vgg16/features", "resnet18/layer1", "resnet18/layer2", "resnet18/layer3",
    "resnet18/layer4", "resnet50/layer1", "resnet50/layer2", "resnet50/layer3", "resnet50/layer4",
    "mobilenet_v2/features.3", "mobilenet_v2/features.7", "mobilenet_v2/features.14", "mobilenet_v2/features",
    "inception_v3_noaux/Mixed_5d", "inception_v3_noaux/Mixed_6e",  # Mixed_7c (1311 px) would need a 2048² input
    "shufflenet_v2_x1_0/stage2", "shufflenet_v2_x1_0/stage3", "shufflenet_v2_x1_0/stage4", "mnasnet1_0/layers.10",
]

# Models read at another input size than 3x224x224.
INPUT_SIDE = {"inception_v3": 299, "inception_v3_noaux": 299}


def version(module) -> str:
    return ".".join(module.__version__.split("+")[0].split(".")[:2])


ABOUT_TORCHVISION = (
    "Reference figures for the torchvision definitions of the classic CNNs, read off torchvision {tv} / "
    "PyTorch {pt} at batch 1 with 3x224x224 input. params: number of parameters (BN running statistics "
    "excluded). macs: multiply-accumulates of every Conv2d and Linear (kernel x input-channels-per-group x "
    "output elements; bias adds not included) -- the convention of torchvision's own '_ops' figures and of "
    "the papers. fvcore_flops: what fvcore's FlopCountAnalysis reports (it counts one multiply-add as one flop "
    "and also counts batch norm and adaptive average pooling), with its per-operator split. bn_elements: "
    "output elements of all BatchNorm2d layers. state_dict: every key of model.state_dict() with its shape "
    "(running_mean/var/num_batches_tracked are buffers, not parameters). googlenet is built with "
    "aux_logits=False, as torchvision's pretrained GoogLeNet is. inception_v3 is torchvision's default "
    "inception_v3(aux_logits=True, init_weights=False) at 3x299x299, counted with its AuxLogits head run (the "
    "top-level module in training mode, every submodule in eval mode, so batch norm still uses running "
    "statistics); output is the main classifier's. inception_v3_noaux is inception_v3(aux_logits=False) at "
    "3x299x299. squeezenet1_0 and squeezenet1_1 are torchvision's as they are."
)

ABOUT_RECEPTIVE_FIELDS = (
    "Receptive fields of torchvision's definitions, measured by back-propagating from every channel of the "
    "centre unit of the named endpoint to the input (ReLU removed, max-pooling replaced by average pooling of "
    "the same geometry, all weights positive, float64), on an input large enough that the field does not touch "
    "the border. size: receptive field in input pixels (the same horizontally and vertically); stride: "
    "effective stride (jump) in input pixels; padding: effective padding P, so that output unit u sees input "
    "pixels u*stride-P ... u*stride-P+size-1 (0-based). The network's receptive field at an endpoint is the "
    "largest over all paths that reach it."
)


def build(name: str) -> nn.Module:
    """torchvision's model without weights (GoogLeNet without its auxiliary classifiers), in eval mode;
    inception_v3 with its auxiliary head, and the zoo's inception_v3_noaux without it."""
    kwargs = {}
    if name == "googlenet":
        kwargs = {"aux_logits": False, "init_weights": False}
    elif name == "inception_v3":
        kwargs = {"aux_logits": True, "init_weights": False}
    elif name == "inception_v3_noaux":
        name, kwargs = "inception_v3", {"aux_logits": False, "init_weights": False}
    if name.startswith("fcn_"):
        # No auxiliary head, and no ImageNet backbone weights to download.
        kwargs = {"aux_loss": None, "weights_backbone": None}
    return torchvision.models.get_model(name, weights=None, **kwargs).eval()


def with_side_outputs(model: nn.Module) -> nn.Module:
    """Inception-v3 runs its AuxLogits head only when the top-level module is training: set that flag
    alone (its submodules stay in eval mode) so the head is run and counted. Returns (main output, side
    outputs...), so that fvcore's trace keeps the head's operations."""

    class Main(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            self.inner.training = True
            try:
                return tuple(self.inner(x))
            finally:
                self.inner.training = False

    if getattr(model, "AuxLogits", None) is not None:
        return Main(model).eval()

    class Single(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            y = self.inner(x)
            if isinstance(y, dict):
                y = y["out"]  # the segmentation models return {"out": ...} (and "aux" with an auxiliary head)
            return (y,)

    return Single(model).eval()


def figures(name: str) -> dict:
    model = build(name)
    side = INPUT_SIDE.get(name, 224)
    x = torch.zeros(1, 3, side, side)
    runner = with_side_outputs(model)
    macs = 0
    bn_elements = 0

    def count(module, inputs, output):
        nonlocal macs, bn_elements
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            macs += output.numel() * (module.in_channels // module.groups) * kh * kw
        elif isinstance(module, nn.Linear):
            macs += output.numel() * module.in_features
        elif isinstance(module, nn.BatchNorm2d):
            bn_elements += output.numel()

    hooks = [m.register_forward_hook(count) for m in model.modules()]
    with torch.no_grad():
        y = runner(x)[0]
    for h in hooks:
        h.remove()
    flops = FlopCountAnalysis(runner, x)
    flops.unsupported_ops_warnings(False)
    flops.uncalled_modules_warnings(False)
    return {
        "input": list(x.shape),
        "output": list(y.shape),
        "params": sum(p.numel() for p in model.parameters()),
        "macs": macs,
        "fvcore_flops": int(flops.total()),
        "fvcore_by_operator": {k: int(v) for k, v in flops.by_operator().items()},
        "bn_elements": bn_elements,
        "state_dict": {k: list(v.shape) for k, v in model.state_dict().items()},
    }


class Stop(Exception):
    pass


def linearised(name: str) -> nn.Module:
    """The model with ReLUs and ReLU6s removed, max pools turned into average pools, positive weights, float64."""
    model = build(name)

    def replace(parent: nn.Module):
        for child_name, child in parent.named_children():
            if isinstance(child, (nn.ReLU, nn.ReLU6)):
                setattr(parent, child_name, nn.Identity())
            elif isinstance(child, nn.MaxPool2d):
                setattr(parent, child_name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding,
                                                         ceil_mode=child.ceil_mode))
            else:
                replace(child)

    replace(model)
    model = model.double().eval()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                # Positive, and about 1/fan-in so that the values stay finite through 50 layers.
                fan_in = m.weight[0].numel()
                m.weight.copy_((torch.rand(m.weight.shape, generator=g, dtype=torch.float64) + 0.5) / fan_in)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.fill_(1)
                m.bias.zero_()
                m.running_mean.zero_()
                m.running_var.fill_(1)
    return model


def support(model: nn.Module, endpoint: str, side: int, unit: int) -> tuple:
    """First and last input row and column reached from output unit (unit, unit) of `endpoint`."""
    captured = {}

    def hook(module, inputs, output):
        captured["y"] = output
        raise Stop

    handle = model.get_submodule(endpoint).register_forward_hook(hook)
    x = torch.zeros(1, 3, side, side, dtype=torch.float64, requires_grad=True)
    try:
        model(x)
    except Stop:
        pass
    handle.remove()
    y = captured["y"]
    out = y.shape[-1]
    y[0, :, unit, unit].sum().backward()
    reached = x.grad[0].abs().sum(0) > 0
    rows = reached.any(1).nonzero().flatten()
    cols = reached.any(0).nonzero().flatten()
    return out, (int(rows[0]), int(rows[-1])), (int(cols[0]), int(cols[-1]))


class FunctionalLinearised:
    """Inception-v3 calls torch.nn.functional directly (relu in BasicConv2d, max_pool2d in the grid
    reductions), which `linearised` cannot replace module by module: while this is active, F.relu is the
    identity and F.max_pool2d is an average pool of the same geometry."""

    def __enter__(self):
        F = torch.nn.functional
        self.saved = F.relu, F.max_pool2d

        def avg(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
            assert dilation == 1 and not return_indices
            return F.avg_pool2d(x, kernel_size, stride, padding, ceil_mode)

        F.relu = lambda x, inplace=False: x
        F.max_pool2d = avg
        return self

    def __exit__(self, *exc):
        torch.nn.functional.relu, torch.nn.functional.max_pool2d = self.saved


def receptive_field(key: str) -> dict:
    with FunctionalLinearised():
        return measured_receptive_field(key)


def measured_receptive_field(key: str) -> dict:
    name, endpoint = key.split("/")
    model = linearised(name)
    side = 128
    while True:
        out, _, _ = support(model, endpoint, side, 0)
        u = out // 2
        _, rows, cols = support(model, endpoint, side, u)
        _, next_rows, next_cols = support(model, endpoint, side, u + 1) if u + 1 < out else (0, None, None)
        clear = rows[0] > 0 and rows[1] < side - 1 and next_rows is not None and next_rows[1] < side - 1
        if clear:
            break
        side *= 2
    if rows != cols or next_rows != next_cols:
        sys.exit(f"{key}: the field is not square: rows {rows}, columns {cols}")
    stride = next_rows[0] - rows[0]
    return {"size": rows[1] - rows[0] + 1, "stride": stride, "padding": u * stride - rows[0]}


def dump(doc: dict) -> str:
    return json.dumps(doc, indent=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    parser.add_argument("--out", default=OUT, help="the folder to write into (default: the test fixtures)")
    args = parser.parse_args()
    torch.set_grad_enabled(True)
    docs = {
        "torchvision.json": {
            "about": ABOUT_TORCHVISION.format(tv=version(torchvision), pt=version(torch)),
            "models": {name: figures(name) for name in MODELS},
        },
        "receptive_fields.json": {
            "about": ABOUT_RECEPTIVE_FIELDS,
            "endpoints": {key: receptive_field(key) for key in ENDPOINTS},
        },
    }
    differ = False
    for file, doc in docs.items():
        path = os.path.join(args.out, file)
        text = dump(doc)
        if args.check:
            with open(path) as f:
                old = f.read()
            same = old == text
            differ |= not same
            print(f"{path}: {'identical' if same else 'DIFFERS'}")
        else:
            os.makedirs(args.out, exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
            print(f"wrote {path}")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
