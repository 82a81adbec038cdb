"""Empirical privacy audit at full size: what training memorizes about planted canaries,
with and without DP, and the one-run ε lower bound next to the accounted ε.

Causal path: a tiny Llama (2 layers, hidden 64, byte-level BPE, built here) + FFA-LoRA r=8,
64 canaries per setting ("Ward QX-41: the access code of the ward safe is" -> 10 random
digits), each in with probability ½, repeated r ∈ {1, 16} times (--repeats 1 4 16 for more);
exposure among R = 10^4 candidates (log2 R = 13.3 bits). Each finite ε is run twice for
repeated canaries: per record (the copies are covered only by group privacy) and with
dp.group_size = r (the claim covers a canary's copies; its gap should be noise).
Classification path: the MiniLM on random-label canaries, membership AUC without DP vs DP.

Runs fedft's own training loops (train_local / DP-SGD train_round_private) on one site's data,
no Flower: the audit measures the adapter, and a federation only averages such updates.

    python bench/bench_empirical_audit.py [--candidates 10000] [--repeats 1 16]
        [--epsilons inf 3] [--paths causal classification] [--threads 2]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import datasets  # noqa: E402
import torch  # noqa: E402

# The planted-PII corpus, its scorer and the canary experiment are evaluation material kept
# with the tests (tests/fedft_eval), not in the library.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fedft_eval.canary_experiment import CanarySet, plant_sets, train_and_score  # noqa: E402

from fedft.audit.measure import site_result  # noqa: E402
from fedft.config.dp import DPConfig  # noqa: E402
from fedft.model.load import ResolvedModel, load_base_model  # noqa: E402
from fedft.model.lora import attach_lora  # noqa: E402

TOKENIZER_TEXT = [
    "### Instruction: Summarise the note. ### Response: The patient is stable.",
    "The quick brown fox jumps over the lazy dog. 0 1 2 3 4 5 6 7 8 9",
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?'\"()-",
]


def tiny_llama(folder: Path) -> Path:
    """The test suite's tiny Llama (tests/conftest.py), saved to `folder`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(
        TOKENIZER_TEXT,
        trainer=trainers.BpeTrainer(
            vocab_size=320,
            special_tokens=["<unk>", "<s>", "</s>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        ),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False, initializer_range=0.2,
    )  # fmt: skip
    torch.manual_seed(1234)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def builder(path: str, public_id: str, task: str, num_labels: int | None = None):
    def make():
        model, tok = load_base_model(
            ResolvedModel(path=path, public_id=public_id),
            task=task,
            num_labels=num_labels,
            seed=0,
            device="cpu",
        )
        return attach_lora(
            model, task=task, r=8, alpha=16.0, dropout=0.0, target_modules=None, mode="ffa", seed=0
        ), tok

    return make


def dp_config(eps: float, group_size: int = 1) -> DPConfig | None:
    if math.isinf(eps):
        return None
    return DPConfig(enabled=True, target_epsilon=eps, group_size=group_size)


def settings(epsilons: list[float], repeats: int) -> list[tuple[float, int]]:
    """(ε, dp.group_size) pairs: every ε per record, and each finite ε for groups of `repeats`
    records (the claim that covers a canary's copies)."""
    out = [(eps, 1) for eps in epsilons]
    if repeats > 1:
        out += [(eps, repeats) for eps in epsilons if not math.isinf(eps)]
    return out


def row(*cells: object) -> None:
    """One table row: numbers to 3 significant digits, cells separated by two spaces."""
    text = [f"{c:.3g}" if isinstance(c, float) else str(c) for c in cells]
    print("  ".join(f"{c:>9}" for c in text), flush=True)


def causal(args) -> None:
    folder = tiny_llama(Path(tempfile.mkdtemp()) / "tiny-llama")
    build = builder(str(folder), str(folder), "instruction")
    filler = datasets.Dataset.from_list(
        [{"instruction": "Name the colour of the sky.", "input": "", "response": "blue"}] * 32
    )
    bits = math.log2(args.candidates)
    print(f"causal LM, {args.count} canaries, R = {args.candidates} (max exposure {bits:.1f} bits)")
    row("repeats", "ε target", "DP unit", "ε spent", "noise", "steps", "exp. in", "exp. out",
        "gap", "± se", "MI AUC", "TPR@1%", "ε_lb", "verdict", "seconds")  # fmt: skip
    for repeats in args.repeats:
        # Singles need several passes to be memorized at all; repeated canaries one.
        epochs = max(1, 8 // repeats)
        for eps, group in settings(args.epsilons, repeats):
            t = time.time()
            data, records = plant_sets(
                filler,
                task="instruction",
                sets=[CanarySet("c", args.count, repeats)],
                seed=0,
                rng=random.Random(repeats),
            )
            run = train_and_score(
                build, data, records, task="instruction", epochs=epochs,
                batch_size=8 if repeats == 1 else 16, learning_rate=3e-2,
                dp=dp_config(eps, group), candidates=args.candidates,
            )  # fmt: skip
            r = site_result(
                run.scores["c"],
                record=records["c"],
                claimed_epsilon=run.epsilon,
                claimed_delta=run.delta,
                claimed_group_size=run.group_size,
            )
            e, mi, lb = r["exposure"], r["membership_loss"], r["lower_bound"]
            spent = run.epsilon if run.epsilon is not None else math.inf
            unit = "—" if math.isinf(eps) else ("record" if group == 1 else f"{group} records")
            noise = run.noise_multiplier if run.noise_multiplier is not None else 0.0
            row(
                repeats, eps, unit, spent, noise, run.steps, e["included_mean"],
                e["held_out_mean"], e["gap"],
                e["gap_stderr"], mi["auc"], mi["tpr_at_1pct_fpr"],
                lb["epsilon"] if lb else math.nan, r["verdict"], round(time.time() - t),
            )  # fmt: skip


def classification(args) -> None:
    from fedft.data.synthetic import generate_corpus
    from fedft.model.load import bundled_model_path

    filler = datasets.Dataset.from_list(
        [
            {"text": r["text"], "label": r["label"]}
            for r in generate_corpus(kind="clinical", n=64, seed=0, task="classification")
        ]
    )
    labels = sorted(set(filler["label"]))
    label2id = {x: i for i, x in enumerate(labels)}
    build = builder(
        str(bundled_model_path()),
        "sentence-transformers/all-MiniLM-L6-v2",
        "classification",
        len(labels),
    )
    print(f"classification (MiniLM), {args.count} random-label canaries x 4")
    row("ε target", "ε spent", "MI AUC", "calibrated", "TPR@1%", "ε_lb", "verdict", "seconds")
    for eps in args.epsilons:
        t = time.time()
        data, records = plant_sets(
            filler,
            task="classification",
            sets=[CanarySet("c", args.count, 4)],
            seed=0,
            rng=random.Random(0),
            labels=labels,
        )
        run = train_and_score(
            build, data, records, task="classification", epochs=3, batch_size=16,
            learning_rate=1e-2, dp=dp_config(eps), max_length=64, label2id=label2id,
        )  # fmt: skip
        r = site_result(
            run.scores["c"],
            record=records["c"],
            claimed_epsilon=run.epsilon,
            claimed_delta=run.delta,
        )
        cal, mi, lb = r["membership_calibrated"], r["membership_loss"], r["lower_bound"]
        spent = run.epsilon if run.epsilon is not None else math.inf
        row(
            eps, spent, mi["auc"], cal["auc"] if cal else math.nan, mi["tpr_at_1pct_fpr"],
            lb["epsilon"] if lb else math.nan, r["verdict"], round(time.time() - t),
        )  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--candidates", type=int, default=10_000)
    p.add_argument("--count", type=int, default=64)
    # Default: the settings the criteria name (~25 min on 2 idle cores); add 4 and 1.0
    # for the full grid.
    p.add_argument("--repeats", type=int, nargs="+", default=[1, 16])
    p.add_argument("--epsilons", type=float, nargs="+", default=[math.inf, 3.0])
    p.add_argument(
        "--paths", nargs="+", choices=("causal", "classification"),
        default=["causal", "classification"],
        help="causal (tiny Llama) and/or classification (MiniLM; slower on CPU)",
    )  # fmt: skip
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if "causal" in args.paths:
        causal(args)
    if "classification" in args.paths:
        classification(args)


if __name__ == "__main__":
    main()
