#!/usr/bin/env python3
"""Times `zoo bench` on the issue's five models and, when torch and onnxruntime import (run this with a
virtualenv's python), ONNX Runtime and PyTorch on the same models in the same run, then prints the ratios.

  python3 benchmarks/compare.py                          # zoo only (standard library only)
  /work/venv-engine/bin/python benchmarks/compare.py     # zoo, ONNX Runtime and PyTorch side by side
  ... --models resnet50 resnet18 --threads 2 --iterations 20 --zoo .build/release/zoo

Batch 1, 3×224×224, median of the timed iterations after warm-up; peers use the same thread count.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ["resnet50", "resnet18", "googlenet", "densenet121", "vgg16"]


def zoo_bench(zoo, model, threads, iterations):
    out = subprocess.run([zoo, "bench", model, "--threads", str(threads), "--iterations", str(iterations), "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def time_calls(fn, iterations, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3, min(times) * 1e3


def peers(model, threads, iterations):
    try:
        import numpy as np
        import onnxruntime as ort
        import torch
        import torchvision
    except ImportError:
        return None
    torch.set_num_threads(threads)
    kwargs = {"aux_logits": False, "init_weights": False} if model == "googlenet" else {}
    net = getattr(torchvision.models, model)(weights=None, **kwargs).eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.inference_mode():
        pt = time_calls(lambda: net(x), iterations)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"{model}.onnx")
        torch.onnx.export(net, x, path, input_names=["x"], output_names=["y"], opset_version=17, dynamo=False)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        xn = x.numpy()
        ox = time_calls(lambda: sess.run(None, {"x": xn}), iterations)
    return {"onnxruntime": ox, "pytorch": pt, "versions": f"onnxruntime {ort.__version__}, torch {torch.__version__}"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zoo", default=os.path.join(ROOT, ".build", "release", "zoo"))
    ap.add_argument("--models", nargs="+", default=MODELS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=20)
    a = ap.parse_args()
    rows = []
    for m in a.models:
        z = zoo_bench(a.zoo, m, a.threads, a.iterations)
        p = peers(m, a.threads, a.iterations)
        rows.append((m, z, p))
        line = f"{m:12} zoo {z['median_ms']:7.1f} ms (best {z['min_ms']:6.1f}) {z['gflops']:6.1f} GFLOP/s " \
               f"{100 * z['peak_share']:3.0f}% of sgemm {z['sgemm_peak_gflops']:.0f}  RSS {z['peak_rss_bytes'] / 1e6:4.0f} MB"
        if p:
            (om, ob), (pm, pb) = p["onnxruntime"], p["pytorch"]
            line += f" | ORT {om:7.1f} (best {ob:6.1f})  PyTorch {pm:7.1f} (best {pb:6.1f})" \
                    f" | zoo/ORT {z['median_ms'] / om:.2f} (best {z['min_ms'] / ob:.2f})" \
                    f"  zoo/PyTorch {z['median_ms'] / pm:.2f} (best {z['min_ms'] / pb:.2f})"
        print(line, flush=True)
    if rows and rows[0][2]:
        print(rows[0][2]["versions"])
    print("ms: median (best) of", a.iterations, "iterations after 3 warm-up,", a.threads, "threads, batch 1;",
          "ratios < 1 mean zoo is faster; OPENBLAS_CORETYPE =", os.environ.get("OPENBLAS_CORETYPE", "(auto)"))


if __name__ == "__main__":
    main()
