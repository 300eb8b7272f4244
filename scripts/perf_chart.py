#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Turns vkattn_bench JSON into an SVG bar chart: GFLOP/s per shape, one bar per kernel,
solid for host end-to-end time and hatched for GPU time (timestamp queries), on a log axis.

Not used by the build or the tests. Needs matplotlib (Debian: python3-matplotlib).

  build/bench/vkattn_bench --benchmark_filter=... \\
      --benchmark_out=bench.json --benchmark_out_format=json
  scripts/perf_chart.py bench.json -o docs/perf.svg --note "2 shared cores, load 2"
"""
import argparse
import json
import statistics
import sys


def load_rows(path):
    """(shape, kernel, host GFLOP/s, GPU GFLOP/s or None) per successful benchmark: the median
    of its repetitions (--benchmark_repetitions), and the most repetitions any had."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    runs = {}
    for b in data.get("benchmarks", []):
        if b.get("error_occurred") or b.get("run_type") == "aggregate":
            continue
        # Names are set/kernel/shape[/min_time:...][/real_time] (bench/bench_attention.cpp).
        parts = b["name"].split("/")
        if len(parts) < 3 or "FLOP/s" not in b:
            continue
        shape = parts[0] + "\n" + parts[2].replace("_", " ")
        gpu = b.get("gpu_FLOP/s")
        runs.setdefault((shape, parts[1]), []).append((b["FLOP/s"] / 1e9, gpu / 1e9 if gpu else None))
    rows = []
    for (shape, kernel), values in runs.items():
        gpus = [g for _, g in values if g]
        rows.append((shape, kernel, statistics.median(h for h, _ in values),
                     statistics.median(gpus) if len(gpus) == len(values) else None))
    return data.get("context", {}), rows, max((len(v) for v in runs.values()), default=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", help="--benchmark_out file of vkattn_bench")
    parser.add_argument("-o", "--output", default="perf.svg", help="SVG to write")
    parser.add_argument("--note", default="", help="line added under the title (machine, load)")
    args = parser.parse_args()

    context, rows, repetitions = load_rows(args.json)
    if not rows:
        sys.exit(f"{args.json}: no successful benchmarks with a FLOP/s counter")

    import matplotlib

    matplotlib.use("Agg")  # no display: write files only
    matplotlib.rcParams["svg.hashsalt"] = "vkattn"  # stable ids: re-running gives the same SVG
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: small, searchable SVG
    import matplotlib.pyplot as plt

    shapes = list(dict.fromkeys(r[0] for r in rows))
    kernels = list(dict.fromkeys(r[1] for r in rows))
    value = {(r[0], r[1]): r for r in rows}
    # Each kernel gets a host bar and, where measured, a GPU bar beside it.
    series = [(k, "host") for k in kernels]
    series += [(k, "gpu") for k in kernels if any(value.get((s, k), (0, 0, 0, None))[3] for s in shapes)]
    series.sort(key=lambda kv: (kernels.index(kv[0]), kv[1] != "host"))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]

    def measured(shape, kernel, clock):
        r = value.get((shape, kernel))
        return None if r is None else (r[2] if clock == "host" else r[3])

    # Each shape's bars sit side by side, centred, with no gaps for kernels not run on it.
    per_shape = {s: [kc for kc in series if measured(s, *kc)] for s in shapes}
    width = 0.8 / max(len(v) for v in per_shape.values())
    fig, ax = plt.subplots(figsize=(2.5 + max(5.0, 0.6 * sum(len(v) for v in per_shape.values())), 4.8))
    for kernel, clock in series:
        xs, ys = [], []
        for j, shape in enumerate(shapes):
            present = per_shape[shape]
            if (kernel, clock) in present:
                i = present.index((kernel, clock))
                xs.append(j + width * (i - (len(present) - 1) / 2))
                ys.append(measured(shape, kernel, clock))
        colour = colours[kernels.index(kernel) % len(colours)]
        bars = ax.bar(xs, ys, width, label=f"{kernel} ({clock})", color=colour,
                      alpha=1.0 if clock == "host" else 0.45,
                      hatch=None if clock == "host" else "//", edgecolor="black", linewidth=0.4)
        ax.bar_label(bars, labels=[f"{y:.3g}" for y in ys], fontsize=6, rotation=90, padding=2)
    ax.set_yscale("log")
    low, high = ax.get_ylim()
    ax.set_ylim(low, high * 3)  # room for the value labels above the tallest bar
    ax.set_ylabel("GFLOP/s (log scale)")
    ax.set_xticks(range(len(shapes)), shapes, fontsize=7)
    title = "vkattn: GFLOP/s per shape and kernel (host end-to-end vs GPU timestamps)"
    subtitle = " | ".join(
        x for x in (context.get("date", ""), f"{context.get('num_cpus', '?')} CPUs", args.note,
                    f"median of {repetitions} repetitions" if repetitions > 1 else "") if x)
    ax.set_title(title + "\n" + subtitle, fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: no overlap
    ax.grid(axis="y", which="both", linewidth=0.3, alpha=0.5)
    fig.tight_layout()
    fig.savefig(args.output, format="svg", metadata={"Date": None})
    print(f"wrote {args.output}: {len(shapes)} shapes, {len(kernels)} kernels")


if __name__ == "__main__":
    main()
