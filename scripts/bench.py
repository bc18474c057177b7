#!/usr/bin/env python3
"""Side-by-side speed ratios: caffers against PyTorch, alternating the two in one run.

Absolute times on shared 2-core machines drift, so every workload is measured in
several rounds, caffers and PyTorch taking turns, and the best median of each side is
compared. The ratio is PyTorch ms / caffers ms, i.e. caffers' throughput in units of
PyTorch's (> 1 means caffers is faster).

Usage (from the repo root, after `cargo build --release`):
  python3 scripts/bench.py --python /path/to/venv/bin/python [--rounds 3] [--only cifar_train,...] [--rss]
The PyTorch side is ../shared/bench/torch_reference.py (cifar10_quick, LeNet) and
benches/torch_extra.py (MobileNet v1, AlexNet, GoogLeNet). Prints a markdown table; with
`--rss`, also each side's peak resident memory (the whole process's high-water mark, from
wait4's rusage: for PyTorch that includes the interpreter and libtorch, as a user pays it).
"""
import argparse
import os
import platform
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CAFFERS = os.environ.get("CAFFERS") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "release", "caffers")
TORCH_REF = os.path.join(ROOT, "..", "shared", "bench", "torch_reference.py")
TORCH_EXTRA = os.path.join(ROOT, "benches", "torch_extra.py")

# name: (description, caffers time arguments, torch script, torch args, torch line prefix)
WORKLOADS = {
    "cifar_train": (
        "cifar10_quick training step, batch 100",
        ["--model", "nets/cifar10_quick_train_test.prototxt", "--phase", "train",
         "--input-shape", "data=100,3,32,32", "--input-shape", "label=100"],
        TORCH_REF, ["--net", "cifar"], "cifar10_quick train step"),
    "cifar_forward": (
        "cifar10_quick forward (test phase), batch 100",
        ["--model", "nets/cifar10_quick_train_test.prototxt", "--phase", "test", "--forward-only",
         "--input-shape", "data=100,3,32,32", "--input-shape", "label=100"],
        TORCH_REF, ["--net", "cifar"], "cifar10_quick forward only"),
    "lenet_train": (
        "LeNet training step, batch 64",
        ["--model", "nets/lenet_train_test.prototxt", "--phase", "train",
         "--input-shape", "data=64,1,28,28", "--input-shape", "label=64"],
        TORCH_REF, ["--net", "lenet"], "lenet train step"),
    "mobilenet_forward": (
        "MobileNet v1 forward, batch 8, 224x224",
        ["--model", "nets/mobilenet_v1_deploy.prototxt", "--phase", "test", "--forward-only",
         "--input-shape", "data=8,3,224,224"],
        TORCH_EXTRA, ["--net", "mobilenet"], "mobilenet_v1 forward only"),
    "alexnet_forward": (
        "AlexNet forward, batch 16",
        ["--model", "nets/alexnet_deploy.prototxt", "--phase", "test", "--forward-only",
         "--input-shape", "data=16,3,227,227"],
        TORCH_EXTRA, ["--net", "alexnet"], "alexnet forward only"),
    "googlenet_forward": (
        "GoogLeNet forward, batch 8, 224x224",
        ["--model", "nets/googlenet_deploy.prototxt", "--phase", "test", "--forward-only",
         "--input-shape", "data=8,3,224,224"],
        TORCH_EXTRA, ["--net", "googlenet"], "googlenet forward only"),
}


# Runs its arguments as its only child and prints that child's peak RSS (KiB): in a fresh
# process, RUSAGE_CHILDREN's ru_maxrss is exactly the one child's high-water mark.
RSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "print('peak-rss-kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def run_measured(cmd):
    """Runs cmd; returns (exit code, stdout, stderr, peak RSS in MiB)."""
    out = subprocess.run([sys.executable, "-c", RSS_WRAPPER] + cmd, cwd=ROOT,
                         capture_output=True, text=True)
    m = re.search(r"^peak-rss-kib (\d+)$", out.stderr, re.M)
    stderr = re.sub(r"^peak-rss-kib \d+\n?", "", out.stderr, flags=re.M)
    return out.returncode, out.stdout, stderr, int(m.group(1)) / 1024.0 if m else float("nan")


def run_caffers(args, iterations):
    cmd = [CAFFERS, "time", "--iterations", str(iterations)] + args
    code, stdout, stderr, rss = run_measured(cmd)
    text = stdout + stderr
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{text}")
    key = "Average Forward pass" if "--forward-only" in args else "Average Forward-Backward"
    m = re.search(key + r": ([0-9.]+) ms", text)
    if not m:
        raise RuntimeError(f"no `{key}` line in:\n{text}")
    return float(m.group(1)), text, rss


def run_torch(python, script, args, prefix, iters):
    cmd = [python, script, "--iters", str(iters)] + args
    code, stdout, stderr, rss = run_measured(cmd)
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{stdout}{stderr}")
    for line in stdout.splitlines():
        if line.startswith(prefix):
            return float(re.search(r"median ([0-9.]+)", line).group(1)), rss
    raise RuntimeError(f"no `{prefix}` line in:\n{stdout}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", required=True, help="python with torch installed")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--only", default=",".join(WORKLOADS))
    ap.add_argument("--show-layers", action="store_true", help="print caffers' per-layer table")
    ap.add_argument("--rss", action="store_true", help="add each side's peak RSS (MiB)")
    a = ap.parse_args()
    names = [n.strip() for n in a.only.split(",") if n.strip()]
    best = {n: [float("inf"), float("inf")] for n in names}
    # Peak RSS does not drift like time: the largest seen over the rounds is reported.
    rss = {n: [0.0, 0.0] for n in names}
    for r in range(a.rounds):
        for n in names:
            desc, cargs, script, targs, prefix = WORKLOADS[n]
            c, table, c_rss = run_caffers(cargs, a.iterations)
            t, t_rss = run_torch(a.python, script, targs, prefix, a.iterations)
            best[n][0] = min(best[n][0], c)
            best[n][1] = min(best[n][1], t)
            rss[n][0] = max(rss[n][0], c_rss)
            rss[n][1] = max(rss[n][1], t_rss)
            print(f"round {r + 1} {n}: caffers {c:.2f} ms, pytorch {t:.2f} ms", file=sys.stderr)
            if a.show_layers and r == a.rounds - 1:
                print(table, file=sys.stderr)
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load avg {os.getloadavg()}\n")
    rss_head = " caffers peak RSS MiB | PyTorch peak RSS MiB |" if a.rss else ""
    print("| workload | caffers ms | PyTorch ms | ratio (caffers speed / PyTorch) |" + rss_head)
    print("|---|---|---|---|" + ("---|---|" if a.rss else ""))
    for n in names:
        c, t = best[n]
        rss_cells = f" {rss[n][0]:.0f} | {rss[n][1]:.0f} |" if a.rss else ""
        print(f"| {WORKLOADS[n][0]} | {c:.1f} | {t:.1f} | {t / c:.2f}x |" + rss_cells)


if __name__ == "__main__":
    main()
