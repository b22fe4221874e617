#!/usr/bin/env python3
"""Times PyTorch's CPU training step for the models of `precision-lab bench train`, for comparison.

The same steps as the lab's (zero_grad, forward, backward, clip_grad_norm_(1.0), SGD(lr=0.01, momentum=0.9)),
on a fixed seeded batch:
  mlp          MLP 64-256-256-10 (ReLU), batch 128, cross-entropy.
  rnn          Elman RNN (tanh), 2 inputs, 128 hidden, 20 steps, batch 128, a Linear(128, 1) head on the last
               state, mean-squared error on the adding problem.
  transformer  decoder-only, pre-norm (GPT-2 layout): vocabulary 64, context 32, width 64, 4 heads, 2 blocks
               (layer norm, causal attention with separate q/k/v/projection Linear layers, residual; layer norm,
               GELU MLP 4x, residual), final layer norm, Linear head; batch 16, cross-entropy.
Attention is written out (matmul, scale, causal mask, softmax, matmul), as the lab computes it;
--attention sdpa uses torch.nn.functional.scaled_dot_product_attention(is_causal=True) instead.

Prints the median milliseconds per step over --repetitions runs of --steps steps after a warm-up, per model and
dtype; --json prints [{"framework", "model", "format", "ms_per_step", "steps_per_second"}] (the format named as
the lab names it: f16, bf16, f32, f64), which `precision-lab bench train --compare-pytorch` reads.

Not run by CI or the tests (PyTorch is not a dependency of the lab):
    pip install torch
    python3 bench/pytorch_models.py [--models mlp,rnn,transformer] [--formats f16,bf16,f32,f64] [--threads 2] [--json]
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F

DTYPES = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32, "f64": torch.float64}


class Block(torch.nn.Module):
    def __init__(self, width, heads, attention):
        super().__init__()
        self.heads, self.attention = heads, attention
        self.ln1, self.ln2 = torch.nn.LayerNorm(width), torch.nn.LayerNorm(width)
        self.q, self.k, self.v, self.proj = (torch.nn.Linear(width, width) for _ in range(4))
        self.up, self.down = torch.nn.Linear(width, 4 * width), torch.nn.Linear(4 * width, width)

    def forward(self, x, mask):
        batch, steps, width = x.shape
        dh = width // self.heads
        h = self.ln1(x)

        def heads(t):
            return t.view(batch, steps, self.heads, dh).transpose(1, 2)

        q, k, v = heads(self.q(h)), heads(self.k(h)), heads(self.v(h))
        if self.attention == "sdpa":
            attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            scores = q @ k.transpose(-2, -1) * (1 / math.sqrt(dh)) + mask
            attended = torch.softmax(scores, dim=-1) @ v
        x = x + self.proj(attended.transpose(1, 2).reshape(batch, steps, width))
        return x + self.down(F.gelu(self.up(self.ln2(x))))


class TinyTransformer(torch.nn.Module):
    def __init__(self, vocabulary=64, context=32, width=64, heads=4, blocks=2, attention="explicit"):
        super().__init__()
        self.wte = torch.nn.Embedding(vocabulary, width)
        self.wpe = torch.nn.Parameter(torch.randn(context, width) * 0.01)
        self.blocks = torch.nn.ModuleList(Block(width, heads, attention) for _ in range(blocks))
        self.ln_f = torch.nn.LayerNorm(width)
        self.head = torch.nn.Linear(width, vocabulary)
        mask = torch.full((context, context), float("-inf")).triu(1)
        self.register_buffer("mask", mask)

    def forward(self, tokens):
        x = self.wte(tokens) + self.wpe
        for block in self.blocks:
            x = block(x, self.mask)
        return self.head(self.ln_f(x))


class ElmanHead(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.RNN(2, 128, nonlinearity="tanh", batch_first=True)
        self.head = torch.nn.Linear(128, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def make_step(model_name, dtype, attention):
    """The model, its batch and loss, as a closure computing the loss."""
    torch.manual_seed(1)
    if model_name == "mlp":
        model = torch.nn.Sequential(
            torch.nn.Linear(64, 256), torch.nn.ReLU(),
            torch.nn.Linear(256, 256), torch.nn.ReLU(),
            torch.nn.Linear(256, 10),
        ).to(dtype)
        x, y = torch.randn(128, 64, dtype=dtype), torch.randint(0, 10, (128,))
        loss = lambda: F.cross_entropy(model(x), y)
    elif model_name == "rnn":
        model = ElmanHead().to(dtype)
        # The adding problem: a value in [0, 1) and a marker on two of the 20 steps; the target is their sum.
        values = torch.rand(128, 20)
        markers = torch.zeros(128, 20)
        first, second = torch.randint(0, 10, (128,)), torch.randint(10, 20, (128,))
        markers[torch.arange(128), first] = 1
        markers[torch.arange(128), second] = 1
        x = torch.stack([values, markers], dim=2).to(dtype)
        y = (values * markers).sum(dim=1, keepdim=True).to(dtype)
        loss = lambda: F.mse_loss(model(x), y)
    elif model_name == "transformer":
        model = TinyTransformer(attention=attention).to(dtype)
        tokens, targets = torch.randint(0, 64, (16, 32)), torch.randint(0, 64, (16 * 32,))
        loss = lambda: F.cross_entropy(model(tokens).reshape(16 * 32, 64), targets)
    else:
        raise SystemExit(f"--models: '{model_name}' is not one of mlp, rnn, transformer")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        optimizer.zero_grad()
        loss().backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    return step


def step_time(step, steps, repetitions, warmup):
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
    parser.add_argument("--models", default="mlp,rnn,transformer")
    parser.add_argument("--formats", default="f16,bf16,f32,f64")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repetitions", type=int, default=7)
    parser.add_argument("--attention", choices=["explicit", "sdpa"], default="explicit")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for model_name in args.models.split(","):
        for name in args.formats.split(","):
            if name not in DTYPES:
                raise SystemExit(f"--formats: '{name}' is not one of {', '.join(DTYPES)}")
            dtype = DTYPES[name]
            # 16-bit steps are slow on the CPU: fewer of them.
            steps = args.steps if dtype in (torch.float32, torch.float64) else max(5, args.steps // 10)
            seconds = step_time(make_step(model_name, dtype, args.attention), steps, args.repetitions, warmup=3)
            rows.append({"framework": f"pytorch {torch.__version__}", "model": model_name, "format": name,
                         "ms_per_step": seconds * 1e3, "steps_per_second": 1 / seconds})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"PyTorch {torch.__version__}, {args.threads} thread(s), attention {args.attention}")
        for r in rows:
            print(f"  {r['model']:>11} {r['format']:>4}: {r['ms_per_step']:8.3f} ms/step  {r['steps_per_second']:8.1f} steps/s")


if __name__ == "__main__":
    main()
