"""Throughput of this tree's anonymizer against another version's (a git ref), in one invocation.

Each version runs in a worker process of its own (`PYTHONPATH` = its checkout, so `import fedft`
is that version's), builds the default policy's `Anonymizer` and warms up on one chunk. The
parent then hands both workers the same chunks of notes, one version after the other in
alternating order, and times `anonymize_texts(chunk)` (batched, residual scan included) inside
each worker. The worker that waits blocks on its pipe, so the two never compete for the cores;
the ratio per chunk cancels slow drifts in load, and the result is the median of those ratios.

Notes: the project's planted-PII corpus (clinical and banking) and the independent corpus
(tests/fedft_eval/independent), so the ratio covers the text each set of recognizers was and
was not written against.

    python bench/bench_anonymize_versions.py --baseline bbac065 [--docs 300] [--chunk 50]
        [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from fedft_eval.independent.generate import generate as independent_corpus  # noqa: E402
from fedft_eval.pii_corpus import generate_pii_corpus  # noqa: E402

# Runs in each worker: build the anonymizer, then time one chunk per line read from stdin.
_WORKER = """
import json, logging, sys, time
logging.disable(logging.WARNING)  # the residual-scan notices of every chunk
from fedft.anonymize.anonymizer import Anonymizer
from fedft.config.anonymization import AnonymizationConfig
chunks = json.load(open(sys.argv[1]))
anonymizer = Anonymizer.from_config(AnonymizationConfig())
anonymizer.anonymize_texts(chunks[0])
print("ready", flush=True)
for line in sys.stdin:
    texts = chunks[int(line)]
    start = time.perf_counter()
    anonymizer.anonymize_texts(texts)
    print(time.perf_counter() - start, flush=True)
"""


def corpus(docs: int, seed: int) -> list[str]:
    texts = [d.text for d in generate_pii_corpus(n_docs=docs, seed=seed, domain="clinical")]
    texts += [d.text for d in generate_pii_corpus(n_docs=docs // 2, seed=seed, domain="banking")]
    texts += [d.text for d in independent_corpus(docs, seed=seed)]
    return texts


class Worker:
    def __init__(self, tree: Path, chunks_file: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(tree)}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(chunks_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tree,
        )
        if self.proc.stdout.readline().strip() != "ready":
            raise SystemExit(f"the anonymizer of {tree} did not start")

    def time(self, chunk: int) -> float:
        self.proc.stdin.write(f"{chunk}\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", required=True, help="git ref of the version to compare with")
    ap.add_argument("--docs", type=int, default=300, help="per corpus (banking: half)")
    ap.add_argument("--chunk", type=int, default=50, help="notes per timed call")
    ap.add_argument("--repeats", type=int, default=2, help="passes over the chunks")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    texts = corpus(args.docs, args.seed)
    chunks = [texts[i : i + args.chunk] for i in range(0, len(texts), args.chunk)]
    with tempfile.TemporaryDirectory(prefix="fedft-bench-versions-") as tmp:
        baseline_tree = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "-q", "--detach", str(baseline_tree),
             args.baseline],
            check=True,
        )  # fmt: skip
        try:
            chunks_file = Path(tmp) / "chunks.json"
            chunks_file.write_text(json.dumps(chunks))
            workers = {"this tree": Worker(REPO, chunks_file),
                       args.baseline: Worker(baseline_tree, chunks_file)}  # fmt: skip
            seconds: dict[str, list[float]] = {name: [] for name in workers}
            order = list(workers)
            for _ in range(args.repeats):
                for i in range(len(chunks)):
                    order.reverse()  # alternate which version goes first
                    for name in order:
                        seconds[name].append(workers[name].time(i))
            for worker in workers.values():
                worker.close()
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(baseline_tree)],
                check=False,
            )
    ratios = [a / b for a, b in zip(seconds["this tree"], seconds[args.baseline], strict=True)]
    print(f"{len(texts)} notes in {len(chunks)} chunks of {args.chunk}, {args.repeats} passes; "
          f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}")  # fmt: skip
    for name, values in seconds.items():
        rate = sum(len(c) for c in chunks) * args.repeats / sum(values)
        print(f"{name:>12}: {rate:6.1f} notes/s")
    print(
        f"this tree / {args.baseline}, time per chunk: median {statistics.median(ratios):.2f} "
        f"(min {min(ratios):.2f}, max {max(ratios):.2f})"
    )


if __name__ == "__main__":
    main()
