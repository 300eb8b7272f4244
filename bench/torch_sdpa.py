#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Times torch.nn.functional.scaled_dot_product_attention on vkattn_bench's shapes.

The shapes, names and FLOP counts mirror bench/bench_attention.cpp (B=1, Hq=32, Hkv=8
prefill and decode sets, the odd shape), so scripts/gpu_compare.py can set the two side by
side. Device time from CUDA events around each call, after a warm-up; the median of the
repeats. Every SDPA backend PyTorch offers is timed on each shape ("default" is PyTorch's
own choice); one that refuses a shape is recorded with its error. GQA runs twice: with
enable_gqa=True (K/V read as they are, as vkattn reads them) and with K/V expanded to Hq
heads beforehand ("_expanded_kv"; the expansion is not timed), which PyTorch's fused
kernels need.

Not used by the build or the tests; runs where PyTorch and a CUDA GPU are (../shared/GPU.md):

  python3 bench/torch_sdpa.py --out torch.json
"""
import argparse
import json
import statistics
import sys

import warnings

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

# (set, B, Hq, Hkv, Lq, Lkv, D, causal, dtype): bench_attention.cpp's kShapes. "Causal" is
# vkattn's bottom-right alignment: for Lq = 1 every key is visible (SDPA's is_causal is
# top-left, so decode runs without it); for square prefill the two alignments agree.
SHAPES = [
    ("prefill", 1, 32, 8, 512, 512, 64, False, "f32"),
    ("prefill", 1, 32, 8, 512, 512, 128, False, "f32"),
    ("prefill", 1, 32, 8, 2048, 2048, 64, False, "f32"),
    ("prefill", 1, 32, 8, 2048, 2048, 128, False, "f32"),
    ("prefill", 1, 32, 8, 4096, 4096, 64, False, "f32"),
    ("prefill", 1, 32, 8, 4096, 4096, 128, False, "f32"),
    ("prefill_causal", 1, 32, 8, 512, 512, 128, True, "f32"),
    ("prefill_causal", 1, 32, 8, 2048, 2048, 128, True, "f32"),
    ("prefill_causal", 1, 32, 8, 4096, 4096, 128, True, "f32"),
    ("prefill_f16", 1, 32, 8, 2048, 2048, 128, False, "f16"),
    ("decode", 1, 32, 8, 1, 2048, 128, True, "f32"),
    ("decode", 1, 32, 8, 1, 8192, 128, True, "f32"),
    ("decode", 1, 32, 8, 1, 32768, 128, True, "f32"),
    ("decode_f16", 1, 32, 8, 1, 8192, 128, True, "f16"),
    ("odd", 2, 3, 3, 129, 1000, 80, False, "f32"),
]

BACKENDS = {
    "default": None,
    "flash": SDPBackend.FLASH_ATTENTION,
    "efficient": SDPBackend.EFFICIENT_ATTENTION,
    "cudnn": SDPBackend.CUDNN_ATTENTION,
    "math": SDPBackend.MATH,
}


def shape_name(s):
    """vkattn_bench's shape part of a benchmark name: B1_Hq32_Hkv8_Lq512_Lkv512_D64[_f16]."""
    _, b, hq, hkv, lq, lkv, d, _, dtype = s
    name = f"B{b}_Hq{hq}_Hkv{hkv}_Lq{lq}_Lkv{lkv}_D{d}"
    return name + ("_f16" if dtype == "f16" else "")


def flops(s):
    """4·B·Hq·Lq·Lkv·D times the visible fraction of a bottom-right causal mask."""
    _, b, hq, _, lq, lkv, d, causal, _ = s
    visible = 1.0
    if causal:
        offset = lkv - lq
        visible = sum(min(max(i + offset + 1, 0), lkv) for i in range(lq)) / (lq * lkv)
    return 4.0 * b * hq * lq * lkv * d * visible


def time_call(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("torch_sdpa.py: no CUDA device")
    torch.manual_seed(0)
    warnings.filterwarnings("ignore", category=UserWarning)  # each refused backend warns
    results = []
    for s in SHAPES:
        set_name, b, hq, hkv, lq, lkv, d, causal, dtype = s
        dt = torch.float16 if dtype == "f16" else torch.float32
        q = torch.rand(b, hq, lq, d, device="cuda", dtype=dt) * 2 - 1
        k = torch.rand(b, hkv, lkv, d, device="cuda", dtype=dt) * 2 - 1
        v = torch.rand(b, hkv, lkv, d, device="cuda", dtype=dt) * 2 - 1
        is_causal = causal and lq > 1

        def call():
            return F.scaled_dot_product_attention(q, k, v, is_causal=is_causal,
                                                  enable_gqa=hq != hkv)

        # PyTorch's fused kernels take GQA only as equal head counts: K/V expanded to Hq heads
        # beforehand (outside the timing), as a PyTorch user would.
        k_full = k.repeat_interleave(hq // hkv, dim=1)
        v_full = v.repeat_interleave(hq // hkv, dim=1)

        def call_expanded():
            return F.scaled_dot_product_attention(q, k_full, v_full, is_causal=is_causal)

        variants = [(name, which, call) for name, which in BACKENDS.items()]
        if hq != hkv:
            variants += [(name + "_expanded_kv", which, call_expanded)
                         for name, which in BACKENDS.items() if name != "math"]
        reference = None
        for backend, which, fn in variants:
            row = {"set": set_name, "shape": shape_name(s), "backend": backend, "dtype": dtype,
                   "flops": flops(s)}
            try:
                if which is None:
                    ms = time_call(fn, args.warmup, args.repeats)
                    out = fn()
                else:
                    with sdpa_kernel([which]):
                        ms = time_call(fn, args.warmup, args.repeats)
                        out = fn()
                if reference is None:
                    reference = out.float()
                row["max_abs_diff_vs_default"] = (out.float() - reference).abs().max().item()
                row["ms"] = ms
                row["TFLOP/s"] = row["flops"] / (ms * 1e-3) / 1e12
            except RuntimeError as e:  # the backend refuses this shape or dtype
                row["error"] = str(e).splitlines()[0][:200]
            results.append(row)
            shown = f"{row['ms']:.4f} ms {row['TFLOP/s']:.2f} TFLOP/s" if "ms" in row else row["error"]
            print(f"{set_name}/{shape_name(s)} {backend}: {shown}", flush=True)
        del q, k, v, k_full, v_full, reference
    meta = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "allow_tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
            "repeats": args.repeats, "warmup": args.warmup}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"context": meta, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
