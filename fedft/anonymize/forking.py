"""Work split across forked processes that inherit the loaded model (`Anonymizer` workers)."""

from __future__ import annotations

import multiprocessing

__all__ = ["NoFork", "fork_map"]


class NoFork(RuntimeError):
    """Child processes cannot be forked here; the caller works in one process instead."""


def fork_map(fn, parts: list) -> list:
    """[fn(part) for part in parts], parts[1:] each in a forked child while this process does
    parts[0]. Children inherit everything loaded (spaCy model, recognizers): nothing is pickled
    but the results. A child's failure is raised here by exception type only (its message
    could quote a row)."""
    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError as exc:  # no fork on this platform
        raise NoFork(str(exc)) from exc
    children: list = []
    finished = False
    try:
        for part in parts[1:]:
            receiver, sender = ctx.Pipe(duplex=False)
            child = ctx.Process(target=_child, args=(fn, part, sender), daemon=True)
            try:
                child.start()
            except (AssertionError, OSError) as exc:  # AssertionError: we are a daemon
                raise NoFork(f"cannot start a worker process: {exc}") from exc
            sender.close()
            children.append((child, receiver))
        results = [fn(parts[0])]
        for child, receiver in children:
            try:
                status, value = receiver.recv()
            except EOFError:
                status, value = "error", f"worker exited with code {child.exitcode}"
            if status != "ok":
                raise RuntimeError(f"anonymization worker failed: {value}")
            results.append(value)
        finished = True
        return results
    finally:
        for child, receiver in children:
            receiver.close()
            if not finished:  # something failed: the other workers' results are not wanted
                child.kill()
            child.join()


def _child(fn, part, sender) -> None:
    try:
        sender.send(("ok", fn(part)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
        sender.send(("error", type(exc).__name__))
    finally:
        sender.close()
