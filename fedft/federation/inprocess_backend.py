"""Flower's simulation engine without Ray: each ClientApp call runs in this process, one at a time.

On a small machine Ray's part of a simulation (GCS, raylet, runtime-env agent, one worker
process per actor, each importing torch and building the model) costs memory, start-up time
and network sockets that Ray 2.55 binds to all interfaces (docs/security.md). Sites of a
one-machine simulation run one after another here instead, in a worker thread of the process
that runs the ServerApp, with torch using every core.

Semantics kept from Flower's `RayBackend` / `ClientAppActor` (flwr.simulation.ray_transport):
- the app is loaded per call (`app_fn()`) and called with the message and the site's Context;
- the ClientApp gets copies of both (Ray pickles them to the actor), so a call that raises
  leaves the site's stored Context as it was, and the reply is a copy (Ray pickles it back);
- an exception in the app becomes `ClientAppException(str(ex))` (a load error stays
  `LoadClientAppError`); Flower's worker turns it into the error reply the server sees, so a
  site's refusal (`fedft.round.outcome.declined_message`) reaches the strategy as a failure.
Added: each call runs with fresh global random generators (`fedft.federation.global_rng`),
since every site and the server share them here.

How Flower is told: flwr 1.41's `vce_api.start_vce` ignores its `backend_name` and always
does `from .backend.raybackend import RayBackend` when it builds its backend; there is no
registry or parameter for another one. `flower_runs_sites_in_process()` puts a stand-in
module under that name in `sys.modules` for the duration of one simulation (so Ray is not even
imported), and refuses, naming the fix, any Flower whose `start_vce` no longer reads that line.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import inspect
import pickle
import sys
import threading
import types
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from flwr.app import Context, Message
from flwr.clientapp.client_app import ClientApp, ClientAppException, LoadClientAppError
from flwr.server.superlink.fleet.vce import vce_api
from flwr.server.superlink.fleet.vce.backend import Backend, BackendConfig

from fedft.federation.global_rng import isolated_global_rng

__all__ = ["FlowerBackendError", "InProcessBackend", "flower_runs_sites_in_process"]

# The module `start_vce` imports its backend class from, and the line that does it.
_RAY_BACKEND_MODULE = "flwr.server.superlink.fleet.vce.backend.raybackend"
_IMPORT_LINE = "from .backend.raybackend import RayBackend"
# Flower releases whose `start_vce` was read for this (`tests/federation/test_inprocess_backend`).
_CHECKED_FLOWER = ("1.41.",)

T = TypeVar("T")


class FlowerBackendError(RuntimeError):
    """This Flower cannot be given fedft's in-process backend."""


def _copied(obj: T) -> T:
    # What crossing into a Ray actor and back does to Messages and Contexts.
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


class InProcessBackend(Backend):
    """One worker: the simulation engine hands it one message at a time."""

    def __init__(self, backend_config: BackendConfig) -> None:
        super().__init__(backend_config)
        self._app_fn: Callable[[], ClientApp] | None = None
        self._busy = threading.Lock()

    def build(self, app_fn: Callable[[], ClientApp]) -> None:
        self._app_fn = app_fn

    @property
    def num_workers(self) -> int:
        return 1

    def is_worker_idle(self) -> bool:
        return not self._busy.locked()

    def process_message(self, message: Message, context: Context) -> tuple[Message, Context]:
        if self._app_fn is None:
            raise ValueError("InProcessBackend: build() was not called before process_message()")
        message, context = _copied(message), _copied(context)
        with self._busy, isolated_global_rng():
            try:
                app = self._app_fn()
                reply = app(message=message, context=context)
            except LoadClientAppError:
                raise
            except Exception as ex:  # noqa: BLE001 - as Flower's ClientAppActor: any error is the site's
                raise ClientAppException(str(ex)) from ex
        return _copied(reply), context

    def terminate(self) -> None:
        self._app_fn = None


def check_flower() -> None:
    """Raise FlowerBackendError unless Flower builds its simulation backend the way read here."""
    version = importlib.metadata.version("flwr")
    source = inspect.getsource(vce_api.start_vce)
    if not version.startswith(_CHECKED_FLOWER) or _IMPORT_LINE not in source:
        raise FlowerBackendError(
            f"federation.backend: 'inprocess' was written for flwr "
            f"{', '.join(v + 'x' for v in _CHECKED_FLOWER)}, "
            f"whose simulation engine takes its backend from `{_IMPORT_LINE}`; flwr {version} "
            f"{'does too' if _IMPORT_LINE in source else 'does not'}. Set federation.backend: ray, "
            "or check fedft/federation/inprocess_backend.py against this Flower and add the version"
        )


@contextlib.contextmanager
def flower_runs_sites_in_process() -> Iterator[None]:
    """Flower's simulation engine uses `InProcessBackend` inside the block (not thread-safe:
    one simulation per process at a time, as with Ray)."""
    check_flower()
    previous = sys.modules.get(_RAY_BACKEND_MODULE)
    stand_in: Any = types.ModuleType(_RAY_BACKEND_MODULE, "fedft's InProcessBackend, as RayBackend")
    stand_in.RayBackend = InProcessBackend
    sys.modules[_RAY_BACKEND_MODULE] = stand_in
    try:
        yield
    finally:
        if previous is None:
            sys.modules.pop(_RAY_BACKEND_MODULE, None)
        else:
            sys.modules[_RAY_BACKEND_MODULE] = previous
