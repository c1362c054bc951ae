"""LoRA fine-tuning with step checkpoints that `--resume` continues from.

A plain loop rather than HF Trainer: the loop owns exactly what a resume must restore (adapter,
optimizer, step, data position) and what the Node side reads (one JSON event per step).
"""
import fcntl
import json
import math
import os
import re
import shutil
import signal
import time

import torch
from peft import LoraConfig, PeftModel, get_peft_model

from .budget import batch_rows, planned_steps, planned_tokens, steps_for_budget
from .common import emit, load_model, load_tokenizer, pick_device
from .data import collate, file_sha256, load_train_set, template_kwargs
from .hardware import hardware

CKPT_RE = re.compile(r"^checkpoint-(\d+)$")
KEEP_CHECKPOINTS = 2  # the newest may be mid-write when killed; the one before it is the fallback


def latest_checkpoint(out):
    """Newest complete checkpoint (trainer_state.json is written last, so its presence = complete)."""
    found = []
    for name in os.listdir(out) if os.path.isdir(out) else []:
        m = CKPT_RE.match(name)
        if m and os.path.isfile(os.path.join(out, name, "trainer_state.json")):
            found.append((int(m.group(1)), os.path.join(out, name)))
    return max(found)[1] if found else None


def save_checkpoint(model, opt, out, state):
    final = os.path.join(out, f"checkpoint-{state['step']}")
    tmp = final + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(os.path.join(tmp, "adapter"))
    torch.save(opt.state_dict(), os.path.join(tmp, "optimizer.pt"))
    with open(os.path.join(tmp, "trainer_state.json"), "w") as f:
        json.dump(state, f)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)  # atomic: a kill mid-save leaves only a .tmp that is ignored
    old = sorted(
        (int(m.group(1)), n) for n in os.listdir(out) if (m := CKPT_RE.match(n))
    )[:-KEEP_CHECKPOINTS]
    for _, n in old:
        shutil.rmtree(os.path.join(out, n), ignore_errors=True)


def truncate_metrics(path, last_step):
    """Drop metric lines past the checkpoint: those steps are redone after a resume."""
    if not os.path.exists(path):
        return
    with open(path) as f:
        keep = [l for l in f if l.strip() and json.loads(l)["step"] <= last_step]
    with open(path, "w") as f:
        f.writelines(keep)


def lr_at(step, base_lr, warmup):
    # Constant after a linear warmup: depends on the step alone, so a resume (even with a different
    # --max-steps) needs no scheduler state.
    return base_lr * min(1.0, (step + 1) / max(1, warmup))


def lock_out_dir(out):
    """One trainer per output directory. When a worker is SIGKILLed its trainer lives on until it
    notices (see `orphaned`); the retried activity's trainer waits here for it to checkpoint and
    exit, then resumes from that checkpoint instead of racing it over the same files."""
    fd = os.open(os.path.join(out, ".trainer.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        emit("waiting", reason="another trainer holds " + out)
        fcntl.flock(fd, fcntl.LOCK_EX)
    return fd  # held until the process exits


def run(args):
    t_start = time.time()
    os.makedirs(args.out, exist_ok=True)
    lock_fd = lock_out_dir(args.out)  # noqa: F841 (kept open: the lock lives as long as the fd)
    parent = os.getppid()
    torch.manual_seed(args.seed)
    device, dtype = pick_device()
    tok = load_tokenizer(args.model)
    kw = template_kwargs(args.thinking)
    rows, skipped = load_train_set(tok, args.data, args.max_length, kw)
    if not rows:
        raise SystemExit(f"{args.data}: no example with assistant tokens")
    model, load_s = load_model(args.model, device, dtype)
    emit("loaded", model=args.model, device=str(device), dtype=str(dtype).replace("torch.", ""),
         load_s=round(load_s, 2), examples=len(rows), skipped=skipped)

    ckpt = latest_checkpoint(args.out) if args.resume else None
    if ckpt:
        prev = json.load(open(os.path.join(ckpt, "trainer_state.json")))
        if prev["lora_r"] != args.lora_r or prev["data_examples"] != len(rows):
            raise SystemExit(f"{ckpt} was made with other settings/data; resume refused")
        model = PeftModel.from_pretrained(model, os.path.join(ckpt, "adapter"), is_trainable=True)
    else:
        # All linear layers of the blocks (not lm_head): on small models attention-only LoRA
        # learns noticeably slower, and the extra adapter compute is small next to the base model.
        cfg = LoraConfig(r=args.lora_r, lora_alpha=2 * args.lora_r, lora_dropout=0.05,
                         target_modules="all-linear", task_type="CAUSAL_LM")
        model = get_peft_model(model, cfg)
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.0)
    steps_per_epoch = math.ceil(len(rows) / args.batch_size)
    total = planned_steps(len(rows), args.batch_size, args.epochs, args.max_steps)
    budget = None
    if args.match_tokens_of:
        # A baseline trained to the NanoFlux set's tokens: what a run over that file, with these
        # settings and template, counts; then as many steps over this set as reach it.
        ref, _ = load_train_set(tok, args.match_tokens_of, args.max_length, kw)
        budget = planned_tokens([len(ids) for ids, _ in ref], args.batch_size, args.seed, args.epochs, args.max_steps)
        total = steps_for_budget([len(ids) for ids, _ in rows], args.batch_size, args.seed, budget)
        emit("budget", tokens=budget, steps=total, of=args.match_tokens_of)
    warmup = min(10, total // 10)

    step, tokens_seen, elapsed_prev, first_loss, loss_v = 0, 0, 0.0, None, None
    metrics_path = os.path.join(args.out, "metrics.jsonl")
    if ckpt:
        opt.load_state_dict(torch.load(os.path.join(ckpt, "optimizer.pt"), map_location=device))
        step, tokens_seen = prev["step"], prev["tokens_seen"]
        elapsed_prev, first_loss = prev["elapsed_s"], prev["first_loss"]
        loss_v = prev.get("last_loss")
        truncate_metrics(metrics_path, step)
        emit("resumed", checkpoint=ckpt, step=step)
    elif os.path.exists(metrics_path):
        os.remove(metrics_path)  # a fresh run must not append to an old run's curve

    # SIGTERM (a cancelled activity, a shut-down worker) saves a checkpoint before exiting;
    # SIGKILL cannot be caught, which is what the periodic checkpoints are for.
    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(flag=True))

    def state():
        return {"step": step, "tokens_seen": tokens_seen, "elapsed_s": elapsed_prev + time.time() - t_loop,
                "first_loss": first_loss, "last_loss": loss_v, "lora_r": args.lora_r, "data_examples": len(rows),
                "model": args.model, "seed": args.seed}

    t_loop = time.time()
    with open(metrics_path, "a") as metrics:
        while step < total and not stop["flag"]:
            if os.getppid() != parent:
                # Reparented: the worker that started us is gone (SIGKILL leaves no time to signal
                # us). Checkpoint and exit; its retry resumes from here.
                stop["flag"] = True
                break
            epoch = step // steps_per_epoch
            idx = batch_rows(len(rows), args.batch_size, args.seed, step)
            batch = {k: v.to(device) for k, v in collate([rows[i] for i in idx], tok.pad_token_id).items()}
            for g in opt.param_groups:
                g["lr"] = lr_at(step, args.lr, warmup)
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            tokens_seen += int(batch["attention_mask"].sum())
            loss_v = loss.item()
            first_loss = loss_v if first_loss is None else first_loss
            rec = {"step": step, "loss": round(loss_v, 5), "tokens_seen": tokens_seen,
                   "elapsed_s": round(elapsed_prev + time.time() - t_loop, 3)}
            metrics.write(json.dumps(rec) + "\n")
            metrics.flush()
            emit("step", total_steps=total, epoch=epoch, **rec)
            if step % args.save_every == 0 or step == total or stop["flag"] or os.getppid() != parent:
                save_checkpoint(model, opt, args.out, state())
                emit("checkpoint", step=step)

    if stop["flag"] and step < total:
        if not os.path.isdir(os.path.join(args.out, f"checkpoint-{step}")):
            save_checkpoint(model, opt, args.out, state())
        emit("stopped", step=step, reason="SIGTERM" if os.getppid() == parent else "parent exited")
        raise SystemExit(143)
    model.save_pretrained(os.path.join(args.out, "adapter"))
    summary = {"base_model": args.model, "epochs": args.epochs, "steps": step,
               "train_tokens": tokens_seen, "wall_s": round(time.time() - t_start, 2),
               "train_s": round(elapsed_prev + time.time() - t_loop, 2), "load_s": round(load_s, 2),
               "first_loss": first_loss, "last_loss": loss_v, "device": str(device),
               "lora_r": args.lora_r, "lr": args.lr, "seed": args.seed, "examples": len(rows), "resumed_from": ckpt,
               "thinking": None if args.thinking is None else args.thinking == "on", "token_budget": budget,
               "match_tokens_sha256": file_sha256(args.match_tokens_of) if args.match_tokens_of else None,
               "hardware": hardware(device)}
    # Written last and atomically: its presence means the adapter beside it is complete.
    with open(os.path.join(args.out, "summary.json.tmp"), "w") as f:
        json.dump(summary, f, indent=2)
    os.replace(os.path.join(args.out, "summary.json.tmp"), os.path.join(args.out, "summary.json"))
    emit("done", **summary)
