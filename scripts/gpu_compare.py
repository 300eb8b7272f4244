#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Sets vkattn_bench's GPU times beside PyTorch SDPA's on the same shapes: a Markdown table.

Both sides are device time: vkattn's from Vulkan timestamp queries (gpu_ms, the kernels of
one call), PyTorch's from CUDA events around one SDPA call (bench/torch_sdpa.py). The ratio
is PyTorch's time over vkattn's (above 1: vkattn is faster). vkattn's host end-to-end time
(pack, upload, wait, download) is shown beside it for scale.

Not used by the build or the tests (scripts/gpu_check.sh makes the two files):

  scripts/gpu_compare.py bench.json torch.json
"""
import argparse
import json


def load_vkattn(path):
    """{(set, shape): {kernel: (gpu_ms, host_ms, reason)}} of the successful benchmarks."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    rows = {}
    for b in data.get("benchmarks", []):
        if b.get("error_occurred") or b.get("run_type") == "aggregate" or "gpu_ms" not in b:
            continue
        parts = b["name"].split("/")  # set/variant/shape[/min_time:...][/real_time]
        rows.setdefault((parts[0], parts[2]), {})[parts[1]] = (
            b["gpu_ms"], b["real_time"], b.get("label", ""))
    return data.get("context", {}), rows


def load_torch(path):
    """{(set, shape): {backend: ms}} and the run's context."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    rows = {}
    for r in data["results"]:
        if "ms" in r:
            rows.setdefault((r["set"], r["shape"]), {})[r["backend"]] = r["ms"]
    return data["context"], rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", help="vkattn_bench --benchmark_out JSON")
    parser.add_argument("torch", help="bench/torch_sdpa.py --out JSON")
    args = parser.parse_args()
    _, ours = load_vkattn(args.bench)
    torch_context, theirs = load_torch(args.torch)
    print(f"PyTorch {torch_context['torch']} on {torch_context['device']}; "
          "times are device ms per call (medians for PyTorch)\n")
    print("| set | shape | vkattn kernel | vkattn GPU ms | vkattn host ms | PyTorch default ms "
          "| PyTorch fastest (backend) ms | default / vkattn | fastest / vkattn |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key in sorted(ours, key=lambda k: (k[0], k[1])):
        kernels = ours[key]
        best = min(kernels, key=lambda k: kernels[k][0])
        gpu_ms, host_ms, _ = kernels[best]
        torch_ms = theirs.get(key, {})
        default = torch_ms.get("default")
        fastest = min(torch_ms.items(), key=lambda kv: kv[1]) if torch_ms else None
        cells = [key[0], key[1], best, f"{gpu_ms:.4f}", f"{host_ms:.3f}",
                 f"{default:.4f}" if default else "-",
                 f"{fastest[1]:.4f} ({fastest[0]})" if fastest else "-",
                 f"{default / gpu_ms:.3f}" if default else "-",
                 f"{fastest[1] / gpu_ms:.3f}" if fastest else "-"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
