"""CLI: python -m nanoflux_trainer train|evaluate ... (see --help of each)."""
import argparse


def main(argv=None):
    p = argparse.ArgumentParser(prog="nanoflux_trainer")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="LoRA fine-tune on chat-format JSONL")
    t.add_argument("--model", required=True, help="HF model directory or .gguf file")
    t.add_argument("--data", required=True, help='JSONL of {"messages":[{"role","content"},...]}')
    t.add_argument("--out", required=True)
    t.add_argument("--epochs", type=int, default=1)
    t.add_argument("--lr", type=float, default=2e-4)
    t.add_argument("--lora-r", type=int, default=8)
    t.add_argument("--max-steps", type=int, default=0, help="0: no limit beyond --epochs")
    t.add_argument("--batch-size", type=int, default=2)
    t.add_argument("--max-length", type=int, default=512)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--save-every", type=int, default=25, help="checkpoint every K steps")
    t.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    t.add_argument("--thinking", choices=["on", "off"],
                   help="chat-template enable_thinking (Qwen3); default: the template's own")
    t.add_argument("--match-tokens-of", metavar="JSONL",
                   help="train until as many tokens are seen as a run over this file (same epochs, "
                        "batch size, seed, --max-steps) sees, instead of --epochs over --data")

    e = sub.add_parser("evaluate", help="greedy predictions for benchmark items")  # items may carry a "system" prompt
    e.add_argument("--model", required=True, help="HF model directory or .gguf file")
    e.add_argument("--adapter", help="LoRA adapter dir (or a train --out dir)")
    e.add_argument("--items", required=True, help='JSONL of {"id","prompt"}')
    e.add_argument("--out", required=True, help='predictions JSONL of {"id","prediction"}')
    e.add_argument("--max-new-tokens", type=int, default=256)
    e.add_argument("--batch-size", type=int, default=4)
    e.add_argument("--thinking", choices=["on", "off"],
                   help="chat-template enable_thinking (Qwen3); default: the template's own")

    args = p.parse_args(argv)
    # Imported late: `--help` should not pay for loading torch and transformers.
    if args.command == "train":
        from . import train as mod
    else:
        from . import evaluate as mod
    mod.run(args)


if __name__ == "__main__":
    main()
