"""A round deadline for Flower's plain fit workflow.

Flower's `default_fit_workflow` waits for every sampled site with no timeout, so one hung
site would stall a deployment forever. Giving it a grid whose `send_and_receive` carries
`federation.round_timeout` makes the round end with whatever arrived; the strategy then
applies the `min_fit_clients` rule (continue with the others, or stop the run).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flwr.app import Context, Message
from flwr.server import Grid

Workflow = Callable[[Grid, Context], None]


class _DeadlineGrid:
    """`grid` with a default timeout on `send_and_receive`; everything else passes through."""

    def __init__(self, grid: Grid, timeout: float) -> None:
        self._grid = grid
        self._timeout = timeout

    def __getattr__(self, name: str) -> Any:
        return getattr(self._grid, name)

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        return self._grid.send_and_receive(
            messages, timeout=self._timeout if timeout is None else timeout
        )


def with_round_timeout(workflow: Workflow, *, timeout: float) -> Workflow:
    def timed(grid: Grid, context: Context) -> None:
        workflow(_DeadlineGrid(grid, timeout), context)  # type: ignore[arg-type]  # duck-typed Grid

    return timed
