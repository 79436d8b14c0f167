#!/usr/bin/env python3
"""Sweep of the ONNX importer over torchvision's models, exported by both of PyTorch's exporters.

For every model: random weights (batch-norm statistics randomised too), exported with TorchScript
(`dynamo=False`, opset 17) and with torch.export (`dynamo=True`, opset 18) into a temporary folder outside
the repository; then

  zoo describe FILE --json   params, MACs and output shape against the values computed from the file
                             (scripts/make_onnx_fixtures.py's `counts`) and ONNX Runtime's output shape;
  zoo run FILE x.npy         the output against ONNX Runtime's, max |Δ| / max |y| ≤ 1e-4;
  zoo rf FILE, zoo render FILE -o …   succeed.

Prints a Markdown table (docs/onnx.md keeps the last one). Needs torch, torchvision, onnx, onnxscript,
onnxruntime and numpy; none is a dependency of the project.

  python scripts/check_onnx_import.py ZOO [MODEL ...]   # ZOO: the zoo binary (a release build)
  python scripts/check_onnx_import.py ZOO --more        # the second list (MORE)
  python scripts/check_onnx_import.py --table-from LOG [LOG ...]   # the table of runs' logs (standard error; the last row of a repeat)
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_onnx_fixtures import (  # noqa: E402
    GatedTiny, GeluTiny, SegNetTiny, UNetTiny, counts, export, folded, randomize)

warnings.filterwarnings("ignore")

MODELS = [
    ("resnet18", 224), ("resnet50", 224), ("resnext50_32x4d", 224), ("wide_resnet50_2", 224), ("vgg16", 224),
    ("vgg11_bn", 224), ("alexnet", 224), ("googlenet", 224), ("inception_v3", 299), ("densenet121", 224),
    ("squeezenet1_0", 224), ("squeezenet1_1", 224), ("mobilenet_v2", 224), ("mobilenet_v3_small", 224),
    ("mobilenet_v3_large", 224), ("efficientnet_b0", 224), ("shufflenet_v2_x1_0", 224), ("mnasnet1_0", 224),
    ("regnet_x_400mf", 224), ("regnet_y_400mf", 224), ("fcn_resnet50", 224),
    # The small segmentation and inpainting networks of the fixtures, at a larger input (SegNet's odd sizes
    # 90 → 45 → 22 need the unpooling's output size), and GELU in its erf form.
    ("unet_tiny", 96), ("segnet_tiny", 90), ("gated_tiny", 96), ("gelu_tiny", 96),
]

# More of torchvision, checked with --more: the same ops at other depths and widths, and ConvNeXt, whose
# LayerNorm the importer does not map (its row shows the one error it gives).
MORE = [
    ("resnet34", 224), ("resnet101", 224), ("resnet152", 224), ("vgg19_bn", 224), ("densenet169", 224),
    ("shufflenet_v2_x0_5", 224), ("mnasnet0_5", 224), ("efficientnet_b3", 300), ("efficientnet_v2_s", 384),
    ("regnet_y_1_6gf", 224), ("convnext_tiny", 224),
]

CHANNELS = {"gated_tiny": 4}


def build(name):
    if name == "unet_tiny":
        return randomize(UNetTiny(), 3)
    if name == "gated_tiny":
        return randomize(GatedTiny(), 5)
    if name == "segnet_tiny":
        return randomize(SegNetTiny(), 7)
    if name == "gelu_tiny":
        return randomize(GeluTiny(), 8)
    if name == "fcn_resnet50":
        m = torchvision.models.segmentation.fcn_resnet50(weights=None, weights_backbone=None, aux_loss=False)
    elif name in ("googlenet", "inception_v3"):
        m = getattr(torchvision.models, name)(weights=None, aux_logits=False, init_weights=False)
    else:
        m = getattr(torchvision.models, name)(weights=None)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.copy_(torch.randn(mod.running_mean.shape, generator=g) * 0.1)
                mod.running_var.copy_(torch.rand(mod.running_var.shape, generator=g) + 0.5)
                mod.weight.copy_(torch.rand(mod.weight.shape, generator=g) + 0.5)
                mod.bias.copy_(torch.randn(mod.bias.shape, generator=g) * 0.1)
    return m.eval()


class Unwrap(torch.nn.Module):
    """Segmentation models return a dict; the export takes its `out`."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)["out"]


def zoo(binary, *args):
    t = time.time()
    r = subprocess.run([binary, *args], capture_output=True, text=True)
    return r, time.time() - t


def check(binary, name, size, folder):
    model = build(name)
    if name.startswith("fcn"):
        model = Unwrap(model).eval()
        # Keep the state-dict keys of the segmentation model itself (`backbone.…`, `classifier.…`).
    c = CHANNELS.get(name, 3)
    x = torch.randn((1, c, size, size), generator=torch.Generator().manual_seed(1))
    xpath = os.path.join(folder, f"x{c}_{size}.npy")
    np.save(xpath, x.numpy()[0])
    rows = []
    for exporter, dynamo in (("TorchScript", False), ("torch.export", True)):
        row = dict(model=name, exporter=exporter, opset=18 if dynamo else 17)
        path = os.path.join(folder, f"{name}_{'dynamo' if dynamo else 'ts'}.onnx")
        try:
            # The TorchScript exporter restores the training flag it found on every submodule: eval again.
            model.eval()
            export(model, x, path, dynamo)
            params, macs, y = counts(path, x)
        except Exception as e:  # the exporter or ONNX Runtime failed: not the importer's result
            row["error"] = f"export/ORT: {type(e).__name__}: {str(e).splitlines()[0][:120]}"
            rows.append(row)
            continue
        np.save(os.path.join(folder, "ref.npy"), y)
        bn, fold = folded(path)
        row.update(file_params=params, file_macs=macs, ort_output=list(y.shape[1:]), folded=fold)
        r, _ = zoo(binary, "describe", path, "--json")
        if r.returncode:
            # The first clause: an unsupported op's error then lists every supported op.
            row["error"] = r.stderr.strip().splitlines()[-1].split("; it maps:")[0][:300]
            rows.append(row)
            continue
        d = json.loads(r.stdout)
        row.update(params=d["totals"]["params"], macs=d["totals"]["macs"], output=d["output"])
        out = os.path.join(folder, "y.npy")
        r, secs = zoo(binary, "run", path, xpath, "--output", out, "--top", "0")
        if r.returncode:
            row["run"] = "fails: " + r.stderr.strip().splitlines()[-1][:200]
        else:
            ours = np.load(out)
            err = float(np.abs(ours - y).max() / np.abs(y).max()) if ours.shape == y.shape else float("inf")
            row["run_err"] = err
            row["run_secs"] = secs
        r, _ = zoo(binary, "rf", path)
        row["rf"] = "ok" if r.returncode == 0 else "fails: " + r.stderr.strip()[:120]
        r, _ = zoo(binary, "render", path, "-o", os.path.join(folder, "g.svg"))
        row["render"] = "ok" if r.returncode == 0 else "fails: " + r.stderr.strip()[:120]
        rows.append(row)
        for f in os.listdir(folder):
            if f.startswith(name):
                os.remove(os.path.join(folder, f))
    return rows


def verdict(row):
    if "error" in row:
        return "✗"
    ok = (row["params"] == row["file_params"] and row["macs"] == row["file_macs"] and row["output"] == row["ort_output"]
          and row.get("run_err", 1) <= 1e-4 and row["rf"] == "ok" and row["render"] == "ok")
    return "✓" if ok else "✗"


def table(rows):
    lines = [
        "| Model | Exporter (opset) | Params zoo / file | MACs zoo / file | Output zoo / ORT | Run vs ORT | rf | render | BN folded | Result |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r and "params" not in r and "file_params" not in r:
            lines.append(f"| {r['model']} | {r['exporter']} ({r['opset']}) | {r['error']} | | | | | | | ✗ |")
            continue
        if "error" in r:
            # The zoo's message without its file, a temporary path.
            r = dict(r, error=re.sub(r"^(Error: )?`[^`]*`: ", "", r["error"]))
            lines.append(
                f"| {r['model']} | {r['exporter']} ({r['opset']}) | – / {r['file_params']:,} | – / {r['file_macs']:,} | – / "
                f"{'×'.join(map(str, r['ort_output']))} | {r['error'].replace('|', '/')} | | | {r['folded']} | ✗ |")
            continue
        run = f"{r['run_err']:.1e}" if "run_err" in r else r["run"]
        lines.append(
            f"| {r['model']} | {r['exporter']} ({r['opset']}) | {r['params']:,} / {r['file_params']:,} | "
            f"{r['macs']:,} / {r['file_macs']:,} | {'×'.join(map(str, r['output']))} / {'×'.join(map(str, r['ort_output']))} | "
            f"{run} | {r['rf']} | {r['render']} | {r['folded']} | {verdict(r)} |")
    return "\n".join(lines)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if sys.argv[1] == "--table-from":
        # The rows the runs wrote to standard error, one JSON line per export, in the lists' order.
        latest = {}  # a model and exporter checked in several logs: the last row
        for log in sys.argv[2:]:
            with open(log) as f:
                for row in (json.loads(line) for line in f if line.startswith("{")):
                    latest[(row["model"], row["exporter"])] = row
        rows = list(latest.values())
        order = [n for n, _ in MODELS + MORE]
        rows.sort(key=lambda r: (order.index(r["model"]) if r["model"] in order else len(order),
                                 r["exporter"] != "TorchScript"))
        print(table(rows))
        bad = sum(verdict(r) != "✓" for r in rows)
        print(f"\n{len(rows) - bad} of {len(rows)} exports pass.")
        return
    binary = os.path.abspath(sys.argv[1])
    wanted = [a for a in sys.argv[2:] if not a.startswith("--")]
    pool = MORE if "--more" in sys.argv else MODELS
    models = [(n, s) for n, s in MODELS + MORE if n in wanted] if wanted else pool
    rows = []
    with tempfile.TemporaryDirectory(prefix="zoo-onnx-sweep-") as folder:
        for name, size in models:
            for row in check(binary, name, size, folder):
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    print(table(rows))
    bad = sum(verdict(r) != "✓" for r in rows)
    print(f"\n{len(rows) - bad} of {len(rows)} exports pass.")


if __name__ == "__main__":
    main()
