"""Token budgets: how many tokens a training run sees, and how many steps another set needs to see as many.

A run's batches are fixed by (seed, epoch) (see train.py), and the tokens a batch counts are its rows'
unpadded lengths, so both are exact before a step is taken: a baseline matched to the NanoFlux set
trains to the step where its running count first reaches the set's, overshooting by less than a batch.
"""
import math

import torch


def epoch_order(n, seed, epoch):
    """The order of one epoch's rows: depends only on (seed, epoch), so a resume sees the same batches."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1000 + epoch)).tolist()


def batch_rows(n, batch_size, seed, step):
    """Row indices of the batch at 0-based `step` of a run over n rows."""
    steps_per_epoch = math.ceil(n / batch_size)
    epoch, pos = divmod(step, steps_per_epoch)
    return epoch_order(n, seed, epoch)[pos * batch_size:(pos + 1) * batch_size]


def planned_steps(n, batch_size, epochs, max_steps):
    total = epochs * math.ceil(n / batch_size)
    return min(total, max_steps) if max_steps else total


def planned_tokens(lengths, batch_size, seed, epochs, max_steps):
    """Tokens a run over rows of these lengths counts: every row once per epoch, or the first max_steps batches."""
    n, total = len(lengths), planned_steps(len(lengths), batch_size, epochs, max_steps)
    if total == epochs * math.ceil(n / batch_size):
        return epochs * sum(lengths)
    return sum(lengths[i] for step in range(total) for i in batch_rows(n, batch_size, seed, step))


def steps_for_budget(lengths, batch_size, seed, budget):
    """The fewest steps over rows of these lengths whose tokens reach `budget` (more epochs than one, or part of one)."""
    if budget <= 0 or not lengths:
        return 0
    n, steps_per_epoch, total = len(lengths), math.ceil(len(lengths) / batch_size), sum(lengths)
    # Whole epochs first (each counts every row once), then the batches of the last one.
    full, rest = divmod(budget, total)
    if rest == 0:
        return full * steps_per_epoch
    step, seen = full * steps_per_epoch, full * total
    while seen < budget:
        seen += sum(lengths[i] for i in batch_rows(n, batch_size, seed, step))
        step += 1
    return step
