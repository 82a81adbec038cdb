"""Throughput of fedft's train_local vs a plain hand-written PyTorch loop, same model and data.

MiniLM-L6 (bundled) + LoRA r=8 on query/value, 5-label head, seq 128, batch 16, CPU fp32.
The machine is shared, so load from other processes changes speed by 2-3x within a minute.
Each measurement is a pair — one call of each loop on the same batch, back to back, in
alternating order — and the ratio is the median of the pairs' ratios, which cancels slow
drifts in load. Both loops build their optimizer per call, as train_local does each round.
Also prints the bytes a site uploads per round vs the base model.

    python bench/bench_local_training.py [--pairs 12] [--steps 2] [--mode standard|ffa]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402

from fedft.model.load import load_base_model, resolve_model_path  # noqa: E402
from fedft.model.lora import attach_lora  # noqa: E402
from fedft.model.state import state_nbytes, trainable_state  # noqa: E402
from fedft.train.local import train_local  # noqa: E402

SEQ, BATCH, LABELS, R = 128, 16, 5, 8
LR, WD, CLIP = 1e-3, 0.0, 1.0


def build_model(mode: str = "standard", last_layers: int | None = None):
    """(MiniLM + LoRA r=R classifier, tokenizer, bytes of the frozen base) as the bench trains."""
    model, tokenizer = load_base_model(
        resolve_model_path(None), task="classification", num_labels=LABELS, seed=0, device="cpu"
    )
    base_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    model = attach_lora(
        model,
        task="classification",
        r=R,
        alpha=2 * R,
        dropout=0.0,
        target_modules=None,
        mode=mode,
        seed=0,
        last_layers=last_layers,
    )
    return model, tokenizer, base_bytes


def make_batches(tokenizer, *, n_batches: int) -> list[dict]:
    words = (
        "patient reports mild pain after the procedure and asks about the next appointment".split()
    )
    g = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(n_batches):
        texts = [
            " ".join(words[i] for i in torch.randint(len(words), (200,), generator=g))
            for _ in range(BATCH)
        ]
        enc = tokenizer(
            texts, padding="max_length", truncation=True, max_length=SEQ, return_tensors="pt"
        )
        batches.append({**enc, "labels": torch.randint(LABELS, (BATCH,), generator=g)})
    return batches


def plain_loop(model, batches) -> None:
    """The reference: what anyone would write by hand."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=LR, weight_decay=WD)
    model.train()
    for batch in batches:
        opt.zero_grad(set_to_none=True)
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP)
        opt.step()


def fedft_loop(model, batches) -> None:
    train_local(
        model,
        batches,
        epochs=1,
        max_steps=None,
        learning_rate=LR,
        weight_decay=WD,
        max_grad_norm=CLIP,
        device="cpu",
    )


def seconds(fn, *args) -> float:
    """Wall seconds of fn(*args)."""
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=12, help="paired measurements")
    parser.add_argument("--steps", type=int, default=2, help="optimizer steps per call")
    parser.add_argument("--mode", choices=["standard", "ffa"], default="standard")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    model, tokenizer, base_bytes = build_model(args.mode)
    batches = make_batches(tokenizer, n_batches=args.steps)
    examples = args.steps * BATCH

    # Warm-up: first calls pay allocator and kernel selection costs.
    plain_loop(model, batches)
    fedft_loop(model, batches)

    plain_s, fedft_s = [], []
    for i in range(args.pairs):
        order = [(plain_loop, plain_s), (fedft_loop, fedft_s)]
        for fn, out in order if i % 2 == 0 else reversed(order):
            out.append(seconds(fn, model, batches))
    ratios = [p / f for p, f in zip(plain_s, fedft_s, strict=True)]
    plain = examples / statistics.median(plain_s)
    fedft = examples / statistics.median(fedft_s)
    best_plain, best_fedft = examples / min(plain_s), examples / min(fedft_s)

    up = state_nbytes(trainable_state(model))
    print(
        f"MiniLM-L6 + LoRA r={R} ({args.mode}), seq {SEQ}, batch {BATCH}, "
        f"{torch.get_num_threads()} threads, "
        f"{args.pairs} pairs x {args.steps} steps"
    )
    print(f"plain PyTorch loop : median {plain:5.1f}  best {best_plain:5.1f} examples/s")
    print(f"fedft train_local  : median {fedft:5.1f}  best {best_fedft:5.1f} examples/s")
    print(
        f"ratio fedft/plain  : median of pairs {statistics.median(ratios):.3f} "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f}); best/best {best_fedft / best_plain:.3f}"
    )
    print(
        f"trainable state    : {up:,} bytes "
        f"({up / base_bytes:.4%} of the base model's {base_bytes:,} bytes)"
    )


if __name__ == "__main__":
    main()
