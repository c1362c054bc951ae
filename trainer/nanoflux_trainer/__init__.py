"""NanoFlux's Python side: LoRA fine-tuning and greedy evaluation of small causal LMs.

Run as `python -m nanoflux_trainer train|evaluate ...` with `trainer/` on PYTHONPATH.
Stdout carries only JSON lines (one event each) so a Node activity can parse and heartbeat on them;
library chatter goes to stderr.
"""
