#!/usr/bin/env python3
"""Checks `zoo export` on every built-in model (needs onnx, onnxruntime, numpy, and torch with torchvision for the
PyTorch column; none of them is a dependency of the project, and no test or CI step runs this script).

For each model of `zoo list --json`, at its own input size:
  1. `zoo export MODEL -o TMP/MODEL.onnx --dynamic-batch` (seeded weights) into a temporary folder outside the repo;
  2. `onnx.checker.check_model(full_check=True)` (which also runs ONNX's shape inference against the shapes the
     exporter declares);
  3. ONNX Runtime on a random input against `zoo run MODEL x.npy --output y.npy` on the same input;
  4. for the models scripts/make_fixtures.py builds in PyTorch (torchvision's, and the zoo's U-Net, All-CNN-C,
     gated inpainting and LeNet-5): the PyTorch model's own state dict (seeded as in make_fixtures.py, batch-norm
     statistics random) saved as safetensors under torchvision's keys, `zoo export --weights` it, and ONNX Runtime
     against PyTorch on the same input.
Errors are max |a − b| over the largest magnitude of the reference; a check passes at 1e-4.

  /tmp/venv-ref/bin/python scripts/check_onnx_export.py                       # every model, Markdown table
  /tmp/venv-ref/bin/python scripts/check_onnx_export.py --models lenet5,resnet18 --opset 13
  /tmp/venv-ref/bin/python scripts/check_onnx_export.py --zoo .build-rel/release/zoo --out table.md
  /tmp/venv-ref/bin/python scripts/check_onnx_export.py --table-from run.log   # the table of a run's log so far
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOLERANCE = 1e-4


def save_safetensors(tensors, path):
    """A safetensors file (float32 little-endian, header JSON sorted by key) without the safetensors package."""
    header, blobs, offset = {}, [], 0
    for key in sorted(tensors):
        a = np.ascontiguousarray(tensors[key], dtype="<f4")
        b = a.tobytes()
        header[key] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for b in blobs:
            f.write(b)


def relative_error(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf")
    scale = max(np.abs(b).max(), 1e-30)
    return float(np.abs(a - b).max() / scale)


def ort_run(path, x):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    s = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x})


def zoo(args, zoo_binary):
    r = subprocess.run([zoo_binary] + args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"zoo {' '.join(args[:2])}: {r.stderr.strip()}")
    return r.stdout


def check_model(entry, zoo_binary, tmp, opset, torch_models):
    name = entry["model"]
    row = {"model": name, "input": "×".join(map(str, entry["input"]))}
    onnx_path = os.path.join(tmp, name + ".onnx")
    t0 = time.time()
    zoo(["export", name, "-o", onnx_path, "--dynamic-batch", "--opset", str(opset)], zoo_binary)
    row["size"] = os.path.getsize(onnx_path)
    onnx.checker.check_model(onnx_path, full_check=True)
    model = onnx.load(onnx_path, load_external_data=False)
    row["ops"] = sorted({n.op_type for n in model.graph.node})
    row["nodes"] = len(model.graph.node)
    row["checker"] = "ok"
    # A batch of two for the small models (the dynamic batch), one for the large.
    batch = 2 if entry["macs"] < 2e9 else 1
    x = np.random.default_rng(7).uniform(-1, 1, (batch, *entry["input"])).astype(np.float32)
    xi, yo = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
    np.save(xi, x)
    y_ort = ort_run(onnx_path, x)[0]
    zoo(["run", name, xi, "--output", yo, "--top", "0"], zoo_binary)
    row["zoo_error"] = relative_error(y_ort, np.load(yo))
    if name in torch_models:
        import make_fixtures as mf
        import torch

        shape = (1, *entry["input"])
        net, xt, yt = mf.forward(name, shape)
        w = os.path.join(tmp, "w.safetensors")
        save_safetensors({k: v.detach().float().numpy() for k, v in net.state_dict().items()
                          if not k.endswith("num_batches_tracked")}, w)
        tv_path = os.path.join(tmp, name + "-tv.onnx")
        zoo(["export", name, "--weights", w, "-o", tv_path, "--opset", str(opset)], zoo_binary)
        row["torch_error"] = relative_error(ort_run(tv_path, xt)[0], yt)
        for p in (w, tv_path):
            os.remove(p)
        del net
    os.remove(onnx_path)
    row["seconds"] = time.time() - t0
    return row


def markdown(rows, opset):
    def err(v):
        return "–" if v is None else ("∞" if v == float("inf") else f"{v:.1e}")

    lines = [
        f"Checked {datetime.date.today().isoformat()} with onnx {onnx.__version__} and ONNX Runtime "
        f"{ort.__version__}, opset {opset}, dynamic batch; errors are max |a − b| over the largest magnitude of "
        f"the reference (tolerance {TOLERANCE:g}).",
        "",
        "| Model | Input | Nodes | onnx.checker (full) | ORT vs `zoo run` | ORT vs PyTorch | Result |",
        "|---|---|---:|---|---:|---:|---|",
    ]
    for r in rows:
        if "failure" in r:
            lines.append(f"| {r['model']} | {r['input']} | – | – | – | – | **failed**: {r['failure']} |")
            continue
        ok = r["zoo_error"] <= TOLERANCE and (r.get("torch_error") is None or r["torch_error"] <= TOLERANCE)
        lines.append(
            f"| {r['model']} | {r['input']} | {r['nodes']} | {r['checker']} | {err(r['zoo_error'])} | "
            f"{err(r.get('torch_error'))} | {'pass' if ok else '**fail**'} |")
    ops = sorted({o for r in rows for o in r.get("ops", [])})
    if ops:
        lines += ["", f"ONNX operators used across the models: {', '.join(ops)}."]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--zoo", default=os.path.join(ROOT, ".build-rel", "release", "zoo"))
    ap.add_argument("--models", help="comma-separated model names (default: every built-in model)")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--out", help="also write the Markdown table to this file")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch column")
    ap.add_argument("--table-from", metavar="LOG",
                    help="only print the table of the rows a run wrote to its standard error (one JSON line a model)")
    args = ap.parse_args()
    if args.table_from:
        with open(args.table_from) as f:
            rows = [json.loads(line) for line in f if line.startswith("{")]
        print(markdown(rows, args.opset))
        return

    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    torch_models = set()
    if not args.no_torch:
        import make_fixtures as mf

        torch_models = set(mf.ALL) | {"unet", "fcn_resnet50", "allcnn_c", "gated_inpaint_coarse"}
    entries = json.loads(zoo(["list", "--json"], args.zoo))
    if args.models:
        wanted = args.models.split(",")
        entries = [e for e in entries if e["model"] in wanted]
    rows = []
    with tempfile.TemporaryDirectory(prefix="zoo-onnx-check-") as tmp:
        for e in entries:
            try:
                row = check_model(e, args.zoo, tmp, args.opset, torch_models)
            except Exception as error:  # one model's failure is a row of the table, not the end of the run
                row = {"model": e["model"], "input": "×".join(map(str, e["input"])),
                       "failure": str(error).splitlines()[0][:160]}
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    table = markdown(rows, args.opset)
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table + "\n")
    failed = [r for r in rows if "failure" in r or r["zoo_error"] > TOLERANCE
              or (r.get("torch_error") or 0) > TOLERANCE]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
