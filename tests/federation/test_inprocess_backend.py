"""The in-process simulation backend: Flower's RayBackend semantics (copies in and out, errors
as ClientAppException, the stored Context untouched by a failing call), fresh global random
generators per call, and the one name it swaps in Flower, checked against the installed Flower."""

from __future__ import annotations

import inspect
import random
import sys

import numpy as np
import pytest
import torch
from flwr.app import ConfigRecord, Context, RecordDict
from flwr.clientapp.client_app import ClientAppException, LoadClientAppError
from flwr.server.superlink.fleet.vce import vce_api

from fedft.federation import inprocess_backend
from fedft.federation.inprocess_backend import (
    FlowerBackendError,
    InProcessBackend,
    check_flower,
    flower_runs_sites_in_process,
)
from fedft.round.outcome import FailureKind, declined_message, declined_parts, failure_kind

RAY_BACKEND = "flwr.server.superlink.fleet.vce.backend.raybackend"


def _context() -> Context:
    return Context(run_id=1, node_id=7, node_config={"partition-id": 0}, state=RecordDict(),
                   run_config={})  # fmt: skip


def _backend(app) -> InProcessBackend:
    backend = InProcessBackend({})
    backend.build(lambda: app)
    return backend


def test_flower_builds_its_backend_the_way_the_swap_expects():
    check_flower()  # the installed flwr
    assert "from .backend.raybackend import RayBackend" in inspect.getsource(vce_api.start_vce)


def test_another_flower_is_refused_naming_the_fallback(monkeypatch):
    monkeypatch.setattr(inprocess_backend.importlib.metadata, "version", lambda _name: "1.99.0")
    with pytest.raises(FlowerBackendError, match=r"flwr 1\.99\.0 .*federation\.backend: ray"):
        check_flower()


def test_the_stand_in_is_what_start_vce_imports_and_only_inside_the_block():
    before = sys.modules.get(RAY_BACKEND)
    with flower_runs_sites_in_process():
        from flwr.server.superlink.fleet.vce.backend.raybackend import RayBackend

        assert RayBackend is InProcessBackend
    assert sys.modules.get(RAY_BACKEND) is before


def test_one_worker_that_is_busy_while_an_app_runs():
    seen = []

    def app(message, context):
        seen.append(backend.is_worker_idle())
        return message

    backend = _backend(app)
    assert backend.num_workers == 1 and backend.is_worker_idle()
    backend.process_message({"x": 1}, _context())
    assert seen == [False] and backend.is_worker_idle()


def test_the_app_gets_copies_and_its_reply_is_a_copy():
    sent, stored, kept = {"x": [1]}, _context(), {}

    def app(message, context):
        message["x"].append(2)
        context.state.config_records["seen"] = ConfigRecord({"n": 1})  # as SecAgg+'s mod does
        kept["reply"] = reply = {"y": [3]}
        return reply

    reply, updated = _backend(app).process_message(sent, stored)
    assert sent == {"x": [1]}  # the server's message is untouched
    assert "seen" not in stored.state.config_records  # the store changes only via Flower
    assert "seen" in updated.state.config_records
    kept["reply"]["y"].append(4)
    assert reply == {"y": [3]}  # later changes at the site do not reach the server


def test_an_error_in_the_app_is_a_client_app_exception_whose_text_the_server_reads():
    message = declined_message(site_id="site-1", server_round=3, reason="privacy budget spent")

    def app(**_kwargs):
        raise RuntimeError(message)

    with pytest.raises(ClientAppException) as caught:
        _backend(app).process_message({}, _context())
    # As Flower's worker reports it to the server (vce_api.worker).
    reason = str(type(caught.value)) + ":<'" + str(caught.value) + "'>"
    assert failure_kind(reason) is FailureKind.DECLINED
    assert declined_parts(reason) == ("site-1", message)


def test_a_load_error_stays_a_load_error():
    backend = InProcessBackend({})

    def load():
        raise LoadClientAppError("no app")

    backend.build(load)
    with pytest.raises(LoadClientAppError):
        backend.process_message({}, _context())


def test_each_call_draws_from_fresh_generators_and_the_servers_are_restored():
    draws = []

    def app(message, context):
        draws.append((random.random(), float(np.random.random()), float(torch.rand(1))))
        random.seed(0), np.random.seed(0), torch.manual_seed(0)  # a site that seeds globally
        return message

    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    expected = (random.random(), float(np.random.random()), float(torch.rand(1)))
    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    backend = _backend(app)
    backend.process_message({}, _context())
    backend.process_message({}, _context())
    assert (random.random(), float(np.random.random()), float(torch.rand(1))) == expected
    assert draws[0] != draws[1]  # the second site does not see what the first left
    assert expected not in draws
