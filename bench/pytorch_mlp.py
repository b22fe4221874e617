#!/usr/bin/env python3
"""The MLP step of `precision-lab bench train` in PyTorch: `bench/pytorch_models.py --models mlp`, kept for
scripts that call it by this name. See pytorch_models.py for the step and the options.

    python3 bench/pytorch_mlp.py [--threads 2] [--formats f16,bf16,f32,f64] [--json]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_models  # noqa: E402

if __name__ == "__main__":
    sys.argv[1:1] = ["--models", "mlp"]
    pytorch_models.main()
