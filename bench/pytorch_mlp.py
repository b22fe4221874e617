#!/usr/bin/env python3
"""Times PyTorch's CPU training step for the MLP of `precision-lab bench train`, for comparison.

The same step: MLP 64-256-256-10 (ReLU, Linear layers), batch 128 of seeded normal inputs, cross-entropy on
seeded labels; zero_grad, forward, backward, clip_grad_norm_(1.0), SGD(lr=0.01, momentum=0.9). Prints the
median milliseconds per step over --repetitions runs of --steps steps after a warm-up, per dtype.

Not run by CI or the tests (PyTorch is not a dependency of the lab):
    pip install torch
    python3 bench/pytorch_mlp.py [--threads 2] [--dtypes float32,float16,bfloat16,float64] [--json]
"""
import argparse
import json
import statistics
import time

import torch


def step_time(dtype, threads, steps, repetitions, warmup):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    ).to(dtype)
    x = torch.randn(128, 64, dtype=dtype)
    y = torch.randint(0, 10, (128,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - start) / steps)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtypes", default="float32,float16,bfloat16,float64")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repetitions", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for name in args.dtypes.split(","):
        dtype = getattr(torch, name)
        # 16-bit steps are slow on the CPU: fewer of them.
        steps = args.steps if dtype in (torch.float32, torch.float64) else max(5, args.steps // 10)
        seconds = step_time(dtype, args.threads, steps, args.repetitions, warmup=3)
        rows.append({"framework": f"pytorch {torch.__version__}", "format": name,
                     "ms_per_step": seconds * 1e3, "steps_per_second": 1 / seconds})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"PyTorch {torch.__version__}, {args.threads} thread(s): MLP 64-256-256-10, batch 128, SGD + clip")
        for r in rows:
            print(f"  {r['format']:>9}: {r['ms_per_step']:8.3f} ms/step  {r['steps_per_second']:8.1f} steps/s")


if __name__ == "__main__":
    main()
