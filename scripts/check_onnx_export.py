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

A model that unpools by a max pool's switches (SegNet) is checked for them too (`switch_check`): a window
whose two largest values are closer than the two engines' rounding of the pool's input may take a different
switch in each, and the unpooling then puts a value in a different place. For every MaxPool whose Indices a
MaxUnpool reads, the pool's input is computed by both (the file cut at that point, `onnx.utils.extract_model`,
run by `zoo run`), the zoo's switches are those of its rule (the first maximum of the window's row-major scan),
and they are compared with ONNX Runtime's Indices. A differing switch is a near-tie when ONNX Runtime's values at
the two positions are within 2δ, δ being the largest difference of the pool's input between the engines: only
then can rounding explain it (ORT's value at its own switch is ≥ its value at the zoo's, the zoo's the reverse).
ONNX Runtime is then run again with the zoo's switches in place of its own, and compared with `zoo run`. Such a
model passes when its plain error is within 1e-4, or when every differing switch is a near-tie and the run with
the zoo's switches is within 1e-4.

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


def first_max_switches(a, kernel, strides, pads, dilations):
    """The zoo's switches of a max pool on `a` (N×C×H×W): per plane, the flat index `iy·W + ix` of the first
    maximum in each window's row-major scan (docs/conventions.md; padding never wins). NaN-free input."""
    n, c, h, w = a.shape
    oh = (h + pads[0] + pads[2] - dilations[0] * (kernel[0] - 1) - 1) // strides[0] + 1
    ow = (w + pads[1] + pads[3] - dilations[1] * (kernel[1] - 1) - 1) // strides[1] + 1
    best = np.full((n, c, oh, ow), -np.inf, a.dtype)
    at = np.full((n, c, oh, ow), -1, np.int64)
    for i in range(kernel[0]):
        ys = np.arange(oh) * strides[0] - pads[0] + i * dilations[0]
        for j in range(kernel[1]):
            xs = np.arange(ow) * strides[1] - pads[1] + j * dilations[1]
            inside = ((ys >= 0) & (ys < h))[:, None] & ((xs >= 0) & (xs < w))[None, :]
            yc, xc = np.clip(ys, 0, h - 1), np.clip(xs, 0, w - 1)
            v = a[:, :, yc][:, :, :, xc]
            take = inside & ((v > best) | (at < 0))
            best = np.where(take, v, best)
            at = np.where(take, yc[:, None] * w + xc[None, :], at)
    return at


def switch_check(onnx_path, x_path, y_zoo, zoo_binary, tmp):
    """The switches of every MaxPool whose Indices a MaxUnpool reads, in the zoo and in ONNX Runtime (see the
    module's docstring); None for a model without unpooling."""
    model = onnx.load(onnx_path)
    read = {u.input[1] for u in model.graph.node if u.op_type == "MaxUnpool"}
    pools = [n for n in model.graph.node if n.op_type == "MaxPool" and len(n.output) > 1 and n.output[1] in read]
    if not pools:
        return None
    x = np.load(x_path)
    probe = onnx.load(onnx_path)
    for n in pools:
        probe.graph.output.extend([onnx.ValueInfoProto(name=n.input[0]), onnx.ValueInfoProto(name=n.output[1])])
    probe_path = os.path.join(tmp, "probe.onnx")
    onnx.save(probe, probe_path)
    names = [o.name for o in ort.InferenceSession(probe_path, providers=["CPUExecutionProvider"]).get_outputs()]
    values = dict(zip(names, ort_run(probe_path, x)))
    os.remove(probe_path)
    result = {"switches": 0, "differ": 0, "near_ties": True, "max_gap": 0.0, "max_delta": 0.0}
    ours = {}
    for n in pools:
        attrs = {a.name: list(a.ints) for a in n.attribute if a.type == onnx.AttributeProto.INTS}
        kernel = attrs["kernel_shape"]
        strides, pads, dilations = attrs.get("strides", [1, 1]), attrs.get("pads", [0] * 4), attrs.get("dilations", [1, 1])
        cut = os.path.join(tmp, "cut.onnx")
        onnx.utils.extract_model(onnx_path, cut, [model.graph.input[0].name], [n.input[0]])
        a_path = os.path.join(tmp, "a.npy")
        zoo(["run", cut, x_path, "--output", a_path, "--top", "0"], zoo_binary)
        a_zoo, a_ort = np.load(a_path), values[n.input[0]]
        os.remove(cut)
        N, C, H, W = a_ort.shape
        delta = float(np.abs(a_zoo.astype(np.float64) - a_ort).max())
        plane = ((np.arange(N)[:, None] * C + np.arange(C)[None, :]) * H * W)[:, :, None, None]
        mine = first_max_switches(a_zoo, kernel, strides, pads, dilations)
        theirs = values[n.output[1]] - plane  # ONNX's Indices count over N×C×H×W
        differ = mine != theirs
        flat = a_ort.reshape(N, C, -1).astype(np.float64)
        at = lambda idx: np.take_along_axis(flat, idx.reshape(N, C, -1), 2).reshape(idx.shape)
        gaps = (at(theirs) - at(mine))[differ]
        result["switches"] += int(differ.size)
        result["differ"] += int(differ.sum())
        result["max_delta"] = max(result["max_delta"], delta / max(float(np.abs(a_ort).max()), 1e-30))
        if differ.any():
            result["max_gap"] = max(result["max_gap"], float(np.abs(gaps).max()))
            result["near_ties"] = result["near_ties"] and bool((np.abs(gaps) <= 2 * delta).all())
        ours[n.output[1]] = mine + plane
    # ONNX Runtime with the zoo's switches.
    swapped = onnx.load(onnx_path)
    for u in swapped.graph.node:
        if u.op_type == "MaxUnpool" and u.input[1] in ours:
            name = "zoo_switches_" + u.input[1]
            if not any(i.name == name for i in swapped.graph.input):
                swapped.graph.input.append(
                    onnx.helper.make_tensor_value_info(name, onnx.TensorProto.INT64, list(ours[u.input[1]].shape)))
            u.input[1] = name
    swapped_path = os.path.join(tmp, "swapped.onnx")
    onnx.save(swapped, swapped_path)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    s = ort.InferenceSession(swapped_path, options, providers=["CPUExecutionProvider"])
    feeds = {s.get_inputs()[0].name: x}
    feeds.update({"zoo_switches_" + k: v for k, v in ours.items()})
    result["same_switches_error"] = relative_error(s.run(None, feeds)[0], y_zoo)
    os.remove(swapped_path)
    return result


def passes(r):
    """A row's verdict (see the module's docstring for models that unpool)."""
    if "failure" in r or (r.get("torch_error") or 0) > TOLERANCE:
        return False
    if r["zoo_error"] <= TOLERANCE:
        return True
    sw = r.get("switch_check")
    return bool(sw and sw["near_ties"] and sw["same_switches_error"] <= TOLERANCE)


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
    check = switch_check(onnx_path, xi, np.load(yo), zoo_binary, tmp)
    if check is not None:
        row["switch_check"] = check
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
    notes = []
    for r in rows:
        if "failure" in r:
            lines.append(f"| {r['model']} | {r['input']} | – | – | – | – | **failed**: {r['failure']} |")
            continue
        mark = ""
        sw = r.get("switch_check")
        if sw:
            mark = "¹²³⁴⁵⁶⁷⁸⁹"[min(len(notes), 8)]
            notes.append(
                f"{mark} {r['model']} unpools by switches: {sw['differ']:,} of its {sw['switches']:,} switches differ "
                f"between ONNX Runtime and the zoo, {'all' if sw['near_ties'] else '**not all**'} near-ties (ORT's "
                f"values at the two positions at most {sw['max_gap']:.1e} apart, within twice the engines' difference "
                f"of the pools' inputs, at most {sw['max_delta']:.1e} of their magnitude); ONNX Runtime with the zoo's "
                f"switches vs `zoo run`: {err(sw['same_switches_error'])}.")
        lines.append(
            f"| {r['model']} | {r['input']} | {r['nodes']} | {r['checker']} | {err(r['zoo_error'])}{mark} | "
            f"{err(r.get('torch_error'))} | {'pass' if passes(r) else '**fail**'} |")
    if notes:
        lines += [""] + notes
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
    failed = [r for r in rows if not passes(r)]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
