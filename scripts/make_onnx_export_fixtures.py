#!/usr/bin/env python3
"""ONNX Runtime's outputs on `zoo export`'s files, for Tests/ZooTests/ONNXExportTests.swift (needs onnx,
onnxruntime and numpy; none of them is a dependency of the project).

For each model below and each export setting (opset 13 with a dynamic batch of 2, opset 21 with batch 1):
`zoo export` with the seeded weights, the batch-norm initializers replaced by the random statistics of
`SeededInit.weights(for:randomStatistics: true)` (computed here from the same stream, scripts/make_fixtures.py's
`uniform`), `onnx.checker` (full), then ONNX Runtime on the seeded input. Written to
Tests/ZooTests/Fixtures/onnx-export/: one .npy per graph output, the file ORT ran without its initializers
(NAME-opsetN.graph.onnx: the test's own export must have exactly these nodes, inputs and outputs), and
manifest.json (the settings, and the initializers' names and shapes).

  /tmp/venv-ref/bin/python scripts/make_onnx_export_fixtures.py [--zoo .build-dbg/debug/zoo]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from make_fixtures import seeded_input, uniform  # noqa: E402  (numpy only at import time)

OUT = os.path.join(ROOT, "Tests", "ZooTests", "Fixtures", "onnx-export")

# (model as `zoo export` takes it, fixture name); definition files are relative to the repository.
MODELS = [
    ("lenet5_original", "lenet5_original"),
    ("Tests/ZooTests/Fixtures/onnx-export/windows.yaml", "windows"),
    ("Tests/ZooTests/Fixtures/onnx-export/maps.yaml", "maps"),
    ("Tests/ZooTests/Fixtures/onnx-export/unpool.yaml", "unpool"),
    ("Tests/ZooTests/Fixtures/onnx-export/local.yaml", "local"),
    ("Tests/ZooTests/Fixtures/onnx-export/pools.yaml", "pools"),
]
# (opset, dynamic batch, batch)
SETTINGS = [(13, True, 2), (21, False, 1)]


def random_statistics(model):
    """Batch norm's γ = 0.5 + u, β = (2u − 1)·0.1, μ = (2u − 1)·0.1, σ² = 0.5 + u, as SeededInit."""
    for i, t in enumerate(model.graph.initializer):
        prefix = t.name.rsplit(".", 1)[0]
        if not any(u.name == prefix + ".running_mean" for u in model.graph.initializer):
            continue
        n = int(np.prod(t.dims)) if t.dims else 1
        u = uniform(t.name, n)
        leaf = t.name.rsplit(".", 1)[1]
        v = np.float32(0.5) + u if leaf in ("weight", "running_var") else (np.float32(2) * u - np.float32(1)) * np.float32(0.1)
        model.graph.initializer[i].CopyFrom(numpy_helper.from_array(v.astype(np.float32).reshape(t.dims), t.name))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zoo", default=os.path.join(ROOT, ".build-dbg", "debug", "zoo"))
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    manifest = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec, name in MODELS:
            for opset, dynamic, batch in SETTINGS:
                path = os.path.join(tmp, f"{name}.onnx")
                subprocess.run([args.zoo, "export", spec, "-o", path, "--opset", str(opset)]
                               + (["--dynamic-batch"] if dynamic else []), check=True, cwd=ROOT,
                               stdout=subprocess.DEVNULL)
                model = onnx.load(path)
                random_statistics(model)
                onnx.save(model, path)
                onnx.checker.check_model(path, full_check=True)
                session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
                i = session.get_inputs()[0]
                x = seeded_input((batch, *i.shape[1:]))
                ys = session.run(None, {i.name: x})
                files = []
                for k, y in enumerate(ys):
                    f = f"{name}-opset{opset}-{k}.npy"
                    np.save(os.path.join(OUT, f), y.astype(np.float32))
                    files.append(f)
                # The file ORT ran, without its initializers (the test compares its own export's nodes with these).
                skeleton = onnx.ModelProto()
                skeleton.CopyFrom(model)
                del skeleton.graph.initializer[:]
                graph_file = f"{name}-opset{opset}.graph.onnx"
                with open(os.path.join(OUT, graph_file), "wb") as f:
                    f.write(skeleton.SerializeToString())
                manifest.append({
                    "model": spec, "name": name, "opset": opset, "dynamic_batch": dynamic, "batch": batch,
                    "input": list(x.shape[1:]), "outputs": files, "graph": graph_file,
                    "initializers": [[t.name, list(t.dims)] for t in model.graph.initializer],
                })
                print(f"{name} opset {opset}: {len(model.graph.node)} nodes, outputs "
                      f"{[y.shape for y in ys]}, max |y| {max(np.abs(y).max() for y in ys):.4g}")
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
