"""Choosing the torch device from a user's word for it, with a clear error instead of a CUDA traceback."""

from __future__ import annotations

import functools
import platform
import shutil

import torch

from nets.errors import UserError


class DeviceError(UserError):
    """The device asked for does not exist here."""


def pick_device(name: str) -> torch.device:
    """``auto`` (the GPU when there is one), ``cpu``, ``cuda`` or ``cuda:N``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DeviceError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"device {name} asked for, but no CUDA GPU is visible")
    return device


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's instruction-set flags as Linux reports them (none where there is no /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo") as info:
            line = next((line for line in info if line.startswith(("flags", "Features"))), "")
    except OSError:
        return frozenset()
    return frozenset(line.partition(":")[2].split())


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX-512 BF16 or AMX): only there does bf16 autocast
    pay off on the CPU (1.6× a training step on an AMD EPYC with AVX-512 BF16, docs/PERFORMANCE.md)."""
    return "avx512_bf16" in cpu_flags() or "amx_bf16" in cpu_flags()


def cpu_kind() -> str:
    """The CPU's model and what it computes in hardware (AMX, AVX-512 BF16, AVX-512, AVX2): every CPU speed
    figure is named with it, since the same code runs several times faster on one than on another."""
    try:
        with open("/proc/cpuinfo") as info:
            model = next((line.partition(":")[2].strip() for line in info if line.startswith("model name")), "")
    except OSError:
        model = ""
    flags = cpu_flags()
    widest = next((name for flag, name in (("amx_bf16", "AMX"), ("avx512_bf16", "AVX-512 BF16"),
                                          ("avx512f", "AVX-512"), ("avx2", "AVX2")) if flag in flags), "no AVX2")
    return f"{model or platform.processor() or platform.machine()}, {widest}"


def cpp_compiler_found() -> bool:
    """Whether a C++ compiler is on the PATH: Inductor needs one to compile or prebuild for the CPU."""
    return any(shutil.which(name) for name in ("g++", "c++", "clang++"))


def describe_device(device: torch.device) -> str:
    """The GPU's name, or the CPU and thread count: what model cards and benchmarks record."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    threads = torch.get_num_threads()
    return f"CPU ({platform.processor() or platform.machine()}, {threads} thread{'s' if threads > 1 else ''})"
