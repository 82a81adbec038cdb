"""A site's privacy budget guard, kept on the site's own disk (never trusted to the server).

The state is one JSON file: the (δ, accountant) the budget is kept at, and every round the
site has spent privacy on, as (noise_multiplier, sample_rate, steps). ε is recomputed over the
whole history on load, so it survives restarts and never depends on a cached number. Each
change is written atomically (write, then rename): a crash leaves the old or the new state,
never half a file.

A round is recorded *before* it trains (write-ahead): a crash mid-round then over-counts,
which is safe, instead of forgetting a round whose update may have left the site.

Keep the same state file across runs on the same data to enforce a lifetime budget; a fresh
file starts from ε = 0. With the site's signing key the file is sealed (`budget_seal`): hash-
chained, signed, and mirrored by a marker, so deleting or editing it makes the site refuse to
train instead of silently restarting its ε.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fedft.config.dp import Accountant
from fedft.dp.accounting import ACCOUNTANTS, Step, epsilon_spent
from fedft.dp.budget_seal import BudgetTampered, chain_head, check_sealed, seal, write_marker
from fedft.run.rundir import atomic_write_text

log = logging.getLogger(__name__)

__all__ = ["BudgetExhausted", "BudgetRecord", "BudgetTampered", "SiteBudget"]

FORMAT = "fedft-dp-budget/1"


class BudgetExhausted(RuntimeError):
    """A round declined by the budget guard; `reason` is the sentence the server records."""

    def __init__(self, reason: str, *, projected_epsilon: float):
        super().__init__(reason)
        self.reason = reason
        self.projected_epsilon = projected_epsilon


@dataclass(frozen=True)
class BudgetRecord:
    round: int
    noise_multiplier: float
    sample_rate: float
    steps: int
    epsilon_total: float  # after this round, at the budget's δ and accountant
    time: str  # UTC, ISO 8601


class SiteBudget:
    """Accountant state of one site: load, check, record. See the module docstring."""

    def __init__(
        self,
        path: Path,
        *,
        accountant: Accountant,
        delta: float,
        max_epsilon: float | None,
        records: list[BudgetRecord],
        declines: list[dict[str, Any]],
        group_size: int = 1,
        signing_key: Ed25519PrivateKey | None = None,
        marker: Path | None = None,
        recoveries: list[dict[str, Any]] | None = None,
    ):
        self.path = path
        self._key = signing_key
        self._marker = marker
        self._recoveries = list(recoveries or [])
        self.accountant = accountant
        self.delta = delta
        self.group_size = group_size
        self.max_epsilon = max_epsilon
        self._records = records
        self._declines = declines

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        accountant: Accountant,
        delta: float,
        max_epsilon: float | None,
        group_size: int = 1,
        signing_key: Ed25519PrivateKey | None = None,
        marker: Path | None = None,
    ) -> SiteBudget:
        """The budget at `path`, or a fresh one (ε = 0) when the file does not exist yet.

        Raises ValueError when the file was kept at another δ, accountant or group size (a
        budget is one (ε, δ) statement; changing δ midway would change what every past round
        meant). With `signing_key` (and `marker`, default `dp-budget.marker` beside the file)
        the file is sealed; raises BudgetTampered when it is missing, edited or rolled back.
        """
        sealing = {
            "signing_key": signing_key,
            "marker": marker or Path(path).with_suffix(".marker"),
        } if signing_key is not None else {}
        path = Path(path)
        if accountant not in ACCOUNTANTS:
            raise ValueError(f"accountant is {accountant!r}; choose one of {ACCOUNTANTS}")
        if not (0 < delta < 1):
            raise ValueError(f"delta is {delta!r}; it must be in (0, 1)")
        if max_epsilon is not None and not (math.isfinite(max_epsilon) and max_epsilon > 0):
            raise ValueError(f"max_epsilon is {max_epsilon!r}; give a number > 0 or None")
        if not path.is_file():
            if sealing:
                check_sealed(path, None, key=signing_key, marker=sealing["marker"])
            return cls(
                path,
                accountant=accountant,
                delta=delta,
                max_epsilon=max_epsilon,
                records=[],
                declines=[],
                group_size=group_size,
                **sealing,
            )
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            if sealing:
                check_sealed(path, state, key=signing_key, marker=sealing["marker"])
            if state.get("format") != FORMAT:
                raise ValueError(f"format is {state.get('format')!r}, expected {FORMAT!r}")
            records = [BudgetRecord(**r) for r in state["records"]]
            declines = list(state.get("declines", []))
            kept_delta, kept_acc = float(state["delta"]), str(state["accountant"])
            kept_group = int(state.get("group_size", 1))
            recoveries = list(state.get("recoveries", []))
        except BudgetTampered:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"{path}: not a readable fedft DP budget ({exc}); restore it from backup. "
                "Deleting it resets this site's spent ε to 0"
            ) from None
        same = (kept_acc, kept_group) == (accountant, group_size)
        if not math.isclose(kept_delta, delta, rel_tol=1e-12) or not same:
            raise ValueError(
                f"{path}: this site's budget is kept at δ={kept_delta:g} with the {kept_acc} "
                f"accountant for groups of {kept_group}; the config now gives δ={delta:g}, "
                f"{accountant}, groups of {group_size}. Keep dp.target_delta, dp.accountant "
                "and dp.group_size fixed for the data, or use a new state file"
            )
        return cls(
            path,
            accountant=accountant,
            delta=delta,
            max_epsilon=max_epsilon,
            records=records,
            declines=declines,
            group_size=group_size,
            recoveries=recoveries,
            **sealing,
        )

    @property
    def recoveries(self) -> int:
        """How many times this budget was rebuilt (`budget_recovery`)."""
        return len(self._recoveries)

    @property
    def head(self) -> str:
        """Hash of the chain over every record (what the site signs into its round record)."""
        return chain_head([asdict(r) for r in self._records])

    @property
    def records(self) -> tuple[BudgetRecord, ...]:
        return tuple(self._records)

    @property
    def history(self) -> list[Step]:
        return [(r.noise_multiplier, r.sample_rate, r.steps) for r in self._records]

    def _epsilon_of(self, history: list[Step]) -> float:
        return epsilon_spent(
            history=history,
            delta=self.delta,
            accountant=self.accountant,
            group_size=self.group_size,
        )

    def epsilon(self) -> float:
        """ε spent so far over every recorded round (0.0 before the first)."""
        return self._epsilon_of(self.history)

    def would_exceed(
        self, noise_multiplier: float, sample_rate: float, steps: int
    ) -> tuple[bool, float]:
        """(True if the round would take ε above max_epsilon, ε after the round)."""
        projected = self._epsilon_of([*self.history, (noise_multiplier, sample_rate, steps)])
        return (self.max_epsilon is not None and projected > self.max_epsilon), projected

    def record(
        self,
        round: int,
        noise_multiplier: float,
        sample_rate: float,
        steps: int,  # noqa: A002
    ) -> float:
        """Add a round's spend and persist it; returns ε in total after it.

        Does not check the cap (call `would_exceed` or `check_round` first): spent privacy
        is recorded whatever it amounts to.
        """
        history = [*self.history, (noise_multiplier, sample_rate, steps)]
        total = self._epsilon_of(history)
        rec = BudgetRecord(
            round=int(round),
            noise_multiplier=float(noise_multiplier),
            sample_rate=float(sample_rate),
            steps=int(steps),
            epsilon_total=total,
            time=_now(),
        )
        self._records.append(rec)
        self._save()
        return total

    def decline_reason(self, round: int, projected: float) -> str:  # noqa: A002
        """The sentence a declining site sends, and the server records."""
        return (
            f"privacy budget: round {round} would raise this site's ε from "
            f"{self.epsilon():.4g} to {projected:.4g} (δ={self.delta:.3g}, {self.accountant} "
            f"accountant), above dp.max_epsilon = {self.max_epsilon:g}; the site declines "
            "this round and trains no more"
        )

    def check_round(
        self,
        round: int,
        noise_multiplier: float,
        sample_rate: float,
        steps: int,  # noqa: A002
    ) -> float:
        """Projected ε after the round; raises BudgetExhausted (and logs the decline) if over."""
        exceed, projected = self.would_exceed(noise_multiplier, sample_rate, steps)
        if exceed:
            reason = self.decline_reason(round, projected)
            if not any(d.get("round") == round for d in self._declines):
                self._declines.append({"round": int(round), "reason": reason, "time": _now()})
                self._save()
            log.warning("%s", reason)
            raise BudgetExhausted(reason, projected_epsilon=projected)
        return projected

    @property
    def declines(self) -> tuple[dict[str, Any], ...]:
        return tuple(self._declines)

    def save(self) -> None:
        """Write the state (sealed with the site key, if any) and its marker."""
        self._save()

    def _save(self) -> None:
        state = {
            "format": FORMAT,
            "accountant": self.accountant,
            "delta": self.delta,
            "group_size": self.group_size,
            "records": [asdict(r) for r in self._records],
            "declines": self._declines,
        }
        if self._recoveries:
            state["recoveries"] = self._recoveries
        if self._key is None:
            atomic_write_text(self.path, json.dumps(state, indent=1) + "\n")
            return
        sealed = seal(state, self._key)
        atomic_write_text(self.path, json.dumps(sealed, indent=1) + "\n")
        # After the file: a crash in between leaves a marker behind the file, which passes.
        marker = self._marker or self.path.with_suffix(".marker")
        write_marker(marker, records=len(self._records), head=sealed["chain_head"], key=self._key)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
