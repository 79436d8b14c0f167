#!/usr/bin/env python3
"""Times `zoo bench` on the issue's five models and, when torch and onnxruntime import (run this with a
virtualenv's python), ONNX Runtime and PyTorch on the same models in the same run, then prints the ratios.

  python3 benchmarks/compare.py                          # zoo only (standard library only)
  path/to/venv/bin/python benchmarks/compare.py         # zoo, ONNX Runtime and PyTorch side by side
  ... --models resnet50 resnet18 --threads 2 --iterations 20 --rounds 3 --zoo .build/release/zoo
  ... --isa avx2       # zoo's AVX2 tier against PyTorch restricted to AVX2 (ORT keeps every ISA)

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


def zoo_bench(zoo, model, threads, iterations, isa=None):
    args = [zoo, "bench", model, "--threads", str(threads), "--iterations", str(iterations), "--json"]
    if isa:
        args += ["--isa", isa]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
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


def peer_runners(model, threads):
    """Returns (ONNX Runtime call, PyTorch call, versions), or None when torch/onnxruntime do not import."""
    try:
        import onnxruntime as ort
        import torch
        import torchvision
    except ImportError:
        return None
    torch.set_num_threads(threads)
    kwargs = {"aux_logits": False, "init_weights": False} if model == "googlenet" else {}
    net = getattr(torchvision.models, model)(weights=None, **kwargs).eval()
    x = torch.randn(1, 3, 224, 224)
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, f"{model}.onnx")
    torch.onnx.export(net, x, path, input_names=["x"], output_names=["y"], opset_version=17, dynamo=False)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    xn = x.numpy()

    def run_torch():
        with torch.inference_mode():
            net(x)

    return (lambda: sess.run(None, {"x": xn})), run_torch, f"onnxruntime {ort.__version__}, torch {torch.__version__}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zoo", default=os.path.join(ROOT, ".build", "release", "zoo"))
    ap.add_argument("--models", nargs="+", default=MODELS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds of zoo, ONNX Runtime and PyTorch taking turns (the machine's load drifts)")
    ap.add_argument("--isa", choices=["avx512", "avx2", "neon", "generic"],
                    help="zoo's kernel tier (default: the fastest this CPU runs); `avx2` also restricts PyTorch "
                         "to AVX2 (ATEN_CPU_CAPABILITY=avx2 DNNL_MAX_CPU_ISA=AVX2, set before torch loads)")
    a = ap.parse_args()
    if a.isa == "avx2":
        os.environ["ATEN_CPU_CAPABILITY"] = "avx2"
        os.environ["DNNL_MAX_CPU_ISA"] = "AVX2"
    versions = None
    for m in a.models:
        runners = peer_runners(m, a.threads)
        zoo, ort_t, pt_t = [], [], []
        z = None
        for _ in range(a.rounds):
            # Each tool starts after a pause: PyTorch's OpenMP workers and ONNX Runtime's pool spin for
            # a while after their last call and would slow whatever runs next.
            time.sleep(0.5)
            z = zoo_bench(a.zoo, m, a.threads, a.iterations, a.isa)
            zoo.append((z["median_ms"], z["min_ms"]))
            if runners:
                time.sleep(0.5)
                ort_t.append(time_calls(runners[0], a.iterations))
                time.sleep(0.5)
                pt_t.append(time_calls(runners[1], a.iterations))

        def summary(t):
            return statistics.median(r[0] for r in t), min(r[1] for r in t)

        zm, zb = summary(zoo)
        engine_peak = z.get("engine_gemm_peak_gflops") or z["sgemm_peak_gflops"]
        line = f"{m:18} zoo[{z.get('isa', '?')}] {zm:7.1f} ms (best {zb:6.1f}) {2 * z['macs'] / zm / 1e6:6.1f} GFLOP/s " \
               f"{100 * 2 * z['macs'] / zm / 1e6 / engine_peak:3.0f}% of the tier's GEMM peak {engine_peak:.0f}" \
               + (f", {100 * 2 * z['macs'] / zm / 1e6 / z['fma_peak_gflops']:3.0f}% of its FMA peak "
                  f"{z['fma_peak_gflops']:.0f}" if z.get("fma_peak_gflops") else "") + \
               f"  RSS {z['peak_rss_bytes'] / 1e6:4.0f} MB"
        if runners:
            versions = runners[2]
            (om, ob), (pm, pb) = summary(ort_t), summary(pt_t)
            line += f" | ORT {om:7.1f} (best {ob:6.1f})  PyTorch {pm:7.1f} (best {pb:6.1f})" \
                    f" | zoo/ORT {zm / om:.2f} (best {zb / ob:.2f})  zoo/PyTorch {zm / pm:.2f} (best {zb / pb:.2f})"
        print(line, flush=True)
    if versions:
        print(versions)
        if a.isa == "avx2":
            import torch
            print("PyTorch restricted to AVX2: ATen", torch.backends.cpu.get_cpu_capability(),
                  "DNNL_MAX_CPU_ISA =", os.environ["DNNL_MAX_CPU_ISA"])
    print("FMA peak: the tier's register-only multiply-add loop on the same threads (no memory traffic); "
          "GEMM peak: the best of the engine's GEMM and OpenBLAS's sgemm on a 1536² problem")
    print(f"ms: median over {a.rounds} rounds of each round's median of {a.iterations} iterations (best: fastest "
          f"single pass), {a.threads} threads, batch 1; the tools take turns within each round; ratios < 1 mean zoo "
          "is faster; OPENBLAS_CORETYPE =", os.environ.get("OPENBLAS_CORETYPE", "(auto)"))


if __name__ == "__main__":
    main()
