"""Greedy generation over {"id","prompt"} items -> {"id","prediction"} lines for `nanoflux score`."""
import json
import os
import time

import torch

from .common import emit, load_model, load_tokenizer, pick_device
from .data import read_jsonl, template_kwargs
from .hardware import hardware


def chat_messages(item):
    system = [{"role": "system", "content": item["system"]}] if item.get("system") else []
    return system + [{"role": "user", "content": item["prompt"]}]


def run(args):
    t_start = time.time()
    device, dtype = pick_device()
    # Left padding: generation continues from the last position of every row in the batch.
    tok = load_tokenizer(args.model, padding_side="left")
    model, load_s = load_model(args.model, device, dtype)
    if args.adapter:
        from peft import PeftModel

        adapter = args.adapter
        # Accept a train --out dir or a checkpoint dir as well as the adapter dir itself.
        if not os.path.isfile(os.path.join(adapter, "adapter_config.json")):
            adapter = os.path.join(adapter, "adapter")
        # Merged weights generate as fast as the base model; the adapter is not trained further here.
        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    model.eval()
    items = read_jsonl(args.items)
    ids = [str(it["id"]) for it in items]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"{args.items}: duplicate ids")
    emit("loaded", model=args.model, adapter=args.adapter, device=str(device),
         load_s=round(load_s, 2), items=len(items))

    # Longest prompts first and together: less padding per batch, and an out-of-memory shows early.
    # The template the variants were trained in: the item's system prompt, its user turn, the same
    # thinking switch (activities/stages/training-data.ts writes both sides).
    kw = template_kwargs(args.thinking)
    prompts = [tok.apply_chat_template(chat_messages(it), tokenize=False, add_generation_prompt=True, **kw)
               for it in items]
    order = sorted(range(len(items)), key=lambda i: -len(prompts[i]))
    preds, new_tokens, prompt_tokens = {}, 0, 0
    for b in range(0, len(order), args.batch_size):
        idx = order[b:b + args.batch_size]
        enc = tok([prompts[i] for i in idx], return_tensors="pt", padding=True,
                  add_special_tokens=False).to(device)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=args.max_new_tokens, do_sample=False,
                                 pad_token_id=tok.pad_token_id)
        gen = out[:, enc["input_ids"].shape[1]:]
        prompt_tokens += int(enc["attention_mask"].sum())  # padding excluded, as new_tokens excludes it
        for i, row in zip(idx, gen):
            preds[i] = tok.decode(row, skip_special_tokens=True).strip()
            new_tokens += int((row != tok.pad_token_id).sum())
        emit("progress", done=min(b + args.batch_size, len(items)), total=len(items),
             elapsed_s=round(time.time() - t_start, 2))

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        for i, item_id in enumerate(ids):  # input order, whatever order they were generated in
            f.write(json.dumps({"id": item_id, "prediction": preds[i]}) + "\n")
    emit("done", out=args.out, items=len(items), new_tokens=new_tokens, prompt_tokens=prompt_tokens,
         wall_s=round(time.time() - t_start, 2), load_s=round(load_s, 2), device=str(device),
         hardware=hardware(device))
