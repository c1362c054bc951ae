"""Chat-format JSONL -> token ids with labels only on assistant tokens."""
import hashlib
import json


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def template_kwargs(thinking):
    """Extra chat-template variables: `enable_thinking` (Qwen3's switch) when --thinking is given.
    A template that does not read the variable renders as without it, so it is safe to pass to any."""
    return {} if thinking is None else {"enable_thinking": thinking == "on"}


def encode_chat(tok, messages, max_length, kw=None):
    """Token ids and labels for one conversation; labels are -100 except on assistant replies.

    The template is rendered for growing prefixes of the conversation: the text an assistant turn
    adds (its content and end-of-turn token) lies between the prefix rendered with a generation
    prompt and the prefix that includes the turn. Character spans are mapped to tokens via the
    fast tokenizer's offsets, so no assumption is made that BPE splits at turn boundaries.
    """
    kw = kw or {}
    full = tok.apply_chat_template(messages, tokenize=False, **kw)
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        # With thinking off a Qwen3 generation prompt ends in an empty think block: it is then part
        # of the prompt, not of what the model learns to say, exactly as at evaluation.
        prompt = tok.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True, **kw)
        upto = tok.apply_chat_template(messages[: i + 1], tokenize=False, **kw)
        if not full.startswith(upto) or not upto.startswith(prompt):
            raise ValueError("chat template is not prefix-stable; cannot locate assistant turns")
        spans.append((len(prompt), len(upto)))
    enc = tok(full, add_special_tokens=False, return_offsets_mapping=True,
              truncation=True, max_length=max_length)
    ids = enc["input_ids"]
    labels = [
        t if any(s <= a < e for s, e in spans) else -100
        for t, (a, _b) in zip(ids, enc["offset_mapping"])
    ]
    return ids, labels


def load_train_set(tok, path, max_length, kw=None):
    rows, skipped = [], 0
    for r in read_jsonl(path):
        ids, labels = encode_chat(tok, r["messages"], max_length, kw)
        if all(l == -100 for l in labels):
            skipped += 1  # nothing to learn: no assistant turn, or truncated away
            continue
        rows.append((ids, labels))
    return rows, skipped


def collate(batch, pad_id):
    import torch

    width = max(len(ids) for ids, _ in batch)
    input_ids, labels, attn = [], [], []
    for ids, lab in batch:
        pad = width - len(ids)
        input_ids.append(ids + [pad_id] * pad)
        labels.append(lab + [-100] * pad)
        attn.append([1] * len(ids) + [0] * pad)
    return {
        "input_ids": torch.tensor(input_ids),
        "labels": torch.tensor(labels),
        "attention_mask": torch.tensor(attn),
    }
