"""Choosing the torch device from a user's word for it, with a clear error instead of a CUDA traceback."""

from __future__ import annotations

import platform

import torch


class DeviceError(ValueError):
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


def describe_device(device: torch.device) -> str:
    """The GPU's name, or the CPU and thread count: what model cards and benchmarks record."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    threads = torch.get_num_threads()
    return f"CPU ({platform.processor() or platform.machine()}, {threads} thread{'s' if threads > 1 else ''})"
