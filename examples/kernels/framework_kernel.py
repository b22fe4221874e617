#!/usr/bin/env python3
"""framework_kernel.py: a command-mode kernel that runs a framework's own reductions under PrecisionLab's harness.

Demonstrates testing a framework rather than hand-written C: each reduction is the call a user of PyTorch
(or, with --backend numpy, of NumPy) would write, computed in the input's dtype, and the harness compares the
result with its exact, correctly rounded reference.

Usage:
  python3 framework_kernel.py [--backend torch|numpy] INPUT OUTPUT REDUCTION DTYPE AXIS
  python3 framework_kernel.py [--backend torch|numpy] --batch MANIFEST OUTDIR

One case: INPUT is a .safetensors file with tensor x (and y, for dot) of dtype F16, BF16, F32 or F64; DTYPE
is the case's dtype (f16, bf16, f32, f64), which must be x's; AXIS is `none` (reduce the whole tensor) or
`-1` (reduce each row of a 2-D tensor: one value per row). OUTPUT ends with .npy (a 0-d or 1-D array of the
dtype; bfloat16 results are written as float32, which holds them exactly) or .json (a number or an array of
numbers, with "inf", "-inf" and "nan" as strings).

Batch: MANIFEST is the harness's manifest.json; the backend is imported once and each case's result is
written to OUTDIR/<case name>.npy. A case that fails is reported on stderr and leaves no output file; the
other cases still run.

Exit status: 0 success; 1 an error (bad arguments or input, or the framework raised; in batch mode, any case
failed); 2 the backend (torch, or numpy) is not installed.
"""
import json
import math
import os
import struct
import sys

REDUCTIONS = ("sum", "dot", "sumsq", "norm1", "norm2", "norminf", "mean", "var", "var-unbiased",
              "logsumexp", "softmax-denominator")
DTYPES = {"f16": "F16", "bf16": "BF16", "f32": "F32", "f64": "F64"}  # the harness's name -> safetensors'
ELEMENT = {"F16": ("<f2", 2), "BF16": ("<u2", 2), "F32": ("<f4", 4), "F64": ("<f8", 8)}  # numpy code, bytes


class KernelError(Exception):
    """A case that cannot be computed: reported on stderr, exit status 1."""


class MissingBackend(Exception):
    """A package the backend needs is not installed: exit status 2."""


def import_numpy():
    try:
        import numpy
    except ImportError:
        raise MissingBackend("numpy is not installed (pip install numpy)")
    numpy.seterr(all="ignore")  # overflow to inf and NaN are results here, not warnings
    return numpy


def read_safetensors(path, np):
    """{name: (safetensors dtype, numpy array)}; BF16 tensors come back as their uint16 bits."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as error:
        raise KernelError(f"{path}: {error.strerror}")
    if len(data) < 8:
        raise KernelError(f"{path}: not a safetensors file (shorter than its 8-byte header length)")
    (header_length,) = struct.unpack_from("<Q", data, 0)
    start = 8 + header_length  # tensor offsets count from here
    if start > len(data):
        raise KernelError(f"{path}: header length {header_length} runs past the end of the file")
    try:
        header = json.loads(data[8:start])
    except ValueError as error:
        raise KernelError(f"{path}: header is not JSON: {error}")
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in ELEMENT:
            raise KernelError(f"{path}: tensor {name} is {dtype}, not F16, BF16, F32 or F64")
        code, size = ELEMENT[dtype]
        count = math.prod(shape)
        if end - begin != count * size or start + end > len(data):
            raise KernelError(f"{path}: tensor {name}: data_offsets {begin}..{end} do not hold shape {shape}")
        tensors[name] = (dtype, np.frombuffer(data, dtype=code, count=count, offset=start + begin).reshape(shape))
    return tensors


def bf16_bits_to_float32(bits, np):
    """bfloat16 bits are the upper half of a float32: shifting them there is exact."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


class TorchBackend:
    def __init__(self):
        self.np = import_numpy()
        try:
            import torch
        except ImportError:
            raise MissingBackend("torch is not installed (pip install torch), or pass --backend numpy")
        self.torch = torch

    def tensor(self, dtype, array):
        # Copied into torch's own (64-byte aligned) memory, like a user's tensor: BLAS-backed reductions such
        # as torch.dot sum in an order that depends on the data's alignment, so its bits can too.
        torch, np = self.torch, self.np
        if dtype == "BF16":
            return torch.tensor(bf16_bits_to_float32(array, np)).to(torch.bfloat16)
        return torch.tensor(array)

    def reduce(self, reduction, x, y, axis):
        torch = self.torch
        dim = {} if axis is None else {"dim": axis}
        if reduction == "sum":
            r = torch.sum(x, **dim)
        elif reduction == "dot":
            r = torch.dot(x.reshape(-1), y.reshape(-1)) if axis is None else torch.linalg.vecdot(x, y, dim=axis)
        elif reduction == "sumsq":
            r = torch.sum(x * x, **dim)
        elif reduction in ("norm1", "norm2", "norminf"):
            order = {"norm1": 1, "norm2": 2, "norminf": math.inf}[reduction]
            r = torch.linalg.vector_norm(x, order, dim=axis)
        elif reduction == "mean":
            r = torch.mean(x, **dim)
        elif reduction in ("var", "var-unbiased"):
            r = torch.var(x, dim=axis, correction=0 if reduction == "var" else 1)
        elif reduction == "logsumexp":
            r = torch.logsumexp(x.reshape(-1), dim=0) if axis is None else torch.logsumexp(x, dim=axis)
        else:  # softmax-denominator
            peak = torch.amax(x) if axis is None else torch.amax(x, dim=axis, keepdim=True)
            r = torch.sum(torch.exp(x - peak), **dim)
        r = r.to(x.dtype)  # the input's dtype, as the framework returns it
        if r.dtype == torch.bfloat16:
            r = r.to(torch.float32)  # exact; numpy has no bfloat16 of its own
        return r.numpy()


class NumpyBackend:
    def __init__(self):
        self.np = import_numpy()

    def tensor(self, dtype, array):
        np = self.np
        if dtype == "BF16":
            try:
                import ml_dtypes
            except ImportError:
                raise MissingBackend("ml_dtypes is not installed (pip install ml-dtypes): numpy needs it for bfloat16")
            return bf16_bits_to_float32(array, np).astype(ml_dtypes.bfloat16)
        return array.astype(array.dtype.newbyteorder("="))  # a writable copy in native byte order

    def reduce(self, reduction, x, y, axis):
        # NumPy treats ml_dtypes.bfloat16 as a user type: some calls (np.linalg.norm) compute it in float64.
        np = self.np
        if reduction == "sum":
            r = np.sum(x, axis=axis)
        elif reduction == "dot":
            r = np.dot(x.ravel(), y.ravel()) if axis is None else np.array([np.dot(a, b) for a, b in zip(x, y)])
        elif reduction == "sumsq":
            r = np.sum(x * x, axis=axis)
        elif reduction in ("norm1", "norm2", "norminf"):
            order = {"norm1": 1, "norm2": None, "norminf": np.inf}[reduction]  # None: numpy's 2-norm
            # On a 2-D array, axis=None would mean a matrix norm: reduce the flattened vector instead.
            r = np.linalg.norm(x.ravel(), order) if axis is None else np.linalg.norm(x, order, axis=axis)
        elif reduction == "mean":
            r = np.mean(x, axis=axis)
        elif reduction in ("var", "var-unbiased"):
            r = np.var(x, axis=axis, ddof=0 if reduction == "var" else 1)
        else:  # logsumexp, softmax-denominator: NumPy has neither; this is the shifted sum scipy uses
            peak = np.max(x, axis=axis, keepdims=True)
            if reduction == "logsumexp":
                peak = np.where(np.isfinite(peak), peak, np.zeros_like(peak))  # all -inf stays -inf, not NaN
            r = np.sum(np.exp(x - peak), axis=axis)
            if reduction == "logsumexp":
                r = np.log(r) + (peak.reshape(()) if axis is None else peak[..., 0])
        r = np.asarray(r).astype(x.dtype)  # the input's dtype, as a framework tensor would be
        return r.astype(np.float32) if x.dtype.name == "bfloat16" else r  # exact, and readable without ml_dtypes


def parse_axis(text):
    if text in ("none", "null", None):
        return None
    if text in ("-1", -1):
        return -1
    raise KernelError(f"axis {text!r} is not none or -1")


def run_case(backend, tensors, reduction, dtype, axis):
    """The reduction of a parsed safetensors file's x (and y) as a numpy array in the output's dtype."""
    if reduction not in REDUCTIONS:
        raise KernelError(f"unknown reduction {reduction!r} (expected one of {', '.join(REDUCTIONS)})")
    if dtype not in DTYPES:
        raise KernelError(f"unknown dtype {dtype!r} (expected f16, bf16, f32 or f64)")
    names = ("x", "y") if reduction == "dot" else ("x",)
    for name in names:
        if name not in tensors:
            raise KernelError(f"the input has no tensor {name}")
        if tensors[name][0] != DTYPES[dtype]:
            raise KernelError(f"tensor {name} is {tensors[name][0]} but the case's dtype is {dtype}")
    x = tensors["x"][1]
    if axis is not None and x.ndim != 2:
        raise KernelError(f"axis -1 needs a 2-D x, not shape {list(x.shape)}")
    if reduction == "dot" and tensors["y"][1].shape != x.shape:
        raise KernelError(f"y's shape {list(tensors['y'][1].shape)} is not x's {list(x.shape)}")
    inputs = [backend.tensor(*tensors[name]) for name in names]
    return backend.reduce(reduction, inputs[0], inputs[1] if reduction == "dot" else None, axis)


def json_number(value):
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return float(value)  # exact: every value of these dtypes is a double, and repr round-trips


def write_output(path, result, np):
    """Written beside the target and renamed into place, so a reader never sees half a file."""
    temporary = path + ".partial"
    if path.endswith(".npy"):
        with open(temporary, "wb") as f:
            np.save(f, result)
    elif path.endswith(".json"):
        values = result.astype(np.float64)
        document = json_number(values.item()) if values.ndim == 0 else [json_number(v) for v in values.tolist()]
        with open(temporary, "w") as f:
            json.dump(document, f)
    else:
        raise KernelError(f"output {path} does not end with .npy or .json")
    os.replace(temporary, path)


def run_batch(backend, manifest_path, outdir):
    try:
        with open(manifest_path) as f:
            manifest = json.load(f)
    except (OSError, ValueError) as error:
        raise KernelError(f"{manifest_path}: {error}")
    if manifest.get("format") != "precision-lab-kernel-cases" or manifest.get("version") != 1:
        raise KernelError(f"{manifest_path}: not a version 1 precision-lab-kernel-cases manifest")
    root = os.path.join(os.path.dirname(os.path.abspath(manifest_path)), manifest.get("root", "."))
    os.makedirs(outdir, exist_ok=True)
    failed = 0
    loaded = (None, None)  # cases sharing an input file usually follow each other: parse it once
    for case in manifest["cases"]:
        name = case.get("name", "")
        try:
            if not name or "/" in name or name.startswith("."):
                raise KernelError("the case name is not a plain file name")
            path = os.path.join(root, case["file"])
            if loaded[0] != path:
                loaded = (path, read_safetensors(path, backend.np))
            result = run_case(backend, loaded[1], case["reduction"], case["dtype"], parse_axis(case.get("axis")))
            write_output(os.path.join(outdir, name + ".npy"), result, backend.np)
        except MissingBackend:
            raise
        except Exception as error:  # the framework's own errors are this case's failure, not the batch's
            print(f"framework_kernel.py: case {name}: {describe(error)}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def describe(error):
    """One line for the harness's report: our own message, or the exception's type and first line."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return text if isinstance(error, KernelError) else f"{type(error).__name__}: {text}"


def main(argv):
    backend_name, batch, positional = "torch", False, []
    arguments = iter(argv)
    for argument in arguments:
        if argument in ("-h", "--help"):
            print(__doc__)
            return 0
        if argument == "--backend":
            backend_name = next(arguments, "")
        elif argument.startswith("--backend="):
            backend_name = argument.split("=", 1)[1]
        elif argument == "--batch":
            batch = True
        else:
            positional.append(argument)
    if backend_name not in ("torch", "numpy"):
        raise KernelError(f"backend {backend_name!r} is not torch or numpy")
    if len(positional) != (2 if batch else 5):
        raise KernelError("usage: framework_kernel.py [--backend torch|numpy] INPUT OUTPUT REDUCTION DTYPE AXIS"
                          " | [--backend torch|numpy] --batch MANIFEST OUTDIR")
    backend = TorchBackend() if backend_name == "torch" else NumpyBackend()
    if batch:
        return run_batch(backend, *positional)
    input_path, output_path, reduction, dtype, axis = positional
    result = run_case(backend, read_safetensors(input_path, backend.np), reduction, dtype, parse_axis(axis))
    write_output(output_path, result, backend.np)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except MissingBackend as error:
        print(f"framework_kernel.py: {error}", file=sys.stderr)
        sys.exit(2)
    except Exception as error:  # one line for the harness's report, not a traceback
        print(f"framework_kernel.py: {describe(error)}", file=sys.stderr)
        sys.exit(1)
