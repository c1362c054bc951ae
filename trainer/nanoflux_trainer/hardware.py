"""What a job ran on, recorded with its results so the report can give device-hours (devices × hours).

The trainer trains and generates on one device (no data parallelism), so `devices` is 1 whatever
the machine holds; `visible` says what the process could see, so a reader can tell a job that used
one of eight GPUs from one that had a GPU to itself.
"""
import os
import platform

import torch


def cpu_name():
    """The CPU's model name: /proc/cpuinfo on Linux (platform.processor() is often empty there)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip() or None
    except OSError:
        pass
    return platform.processor() or platform.machine() or None


def hardware(device):
    """{kind, name, devices, visible[, threads]} for a torch device the job ran on."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return {"kind": "cuda", "name": torch.cuda.get_device_name(index), "devices": 1,
                "visible": torch.cuda.device_count()}
    if device.type == "cpu":
        return {"kind": "cpu", "name": cpu_name(), "devices": 1, "visible": os.cpu_count(),
                "threads": torch.get_num_threads()}
    return {"kind": device.type, "name": None, "devices": 1, "visible": None}
