"""What leaves a site: a description of every reply it sends, kept at the site.

A Flower mod placed outermost on the ClientApp (after SecAgg+ masking, so it sees exactly what
goes on the wire) appends one line per reply to `<site state dir>/outbox.jsonl`: array names,
dtypes and shapes; metric and config keys with their value types; for strings only their
length. Values themselves are never written. Data stewards read it to see what left their
site; the test suite reads it to prove no text did.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flwr.app import Context, Message

# String values a site may send: Flower's legacy status message (empty when OK), the name of
# the DP accountant, the site's own id (node config `site-id`, which names it in the
# ledger), the sha256 (hex) of its anonymization policy, the hash of its budget history's last
# record, and its signature over its record with its public key (base64 / hex). Anything else
# textual leaving a site is a bug.
ALLOWED_STRING_KEYS = frozenset(
    {
        "message",
        "dp_accountant",
        "site_id",
        "anon_policy_hash",
        "budget_head",
        "site_signature",
        "site_public_key",
    }
)


def _value_type(value: Any) -> str:
    if isinstance(value, str):
        return f"str[{len(value)}]"
    if isinstance(value, bytes):
        return f"bytes[{len(value)}]"
    if isinstance(value, list):
        return "list[" + ",".join(sorted({_value_type(v) for v in value})) + "]"
    return type(value).__name__


def describe(content: Any) -> dict[str, Any]:
    """Names, types and sizes of everything in a reply's RecordDict; no values."""
    return {
        "arrays": {
            name: {key: {"dtype": str(a.dtype), "shape": list(a.shape)} for key, a in record.items()}
            for name, record in content.array_records.items()
        },
        "metrics": {name: {k: _value_type(v) for k, v in r.items()} for name, r in content.metric_records.items()},
        "configs": {name: {k: _value_type(v) for k, v in r.items()} for name, r in content.config_records.items()},
    }


def text_fields(description: dict[str, Any]) -> list[str]:
    """`record.key` of every non-empty string sent, outside ALLOWED_STRING_KEYS."""
    found = []
    for section in ("metrics", "configs"):
        for name, fields in description[section].items():
            for key, kind in fields.items():
                if "str[" in kind and key not in ALLOWED_STRING_KEYS and kind != "str[0]":
                    found.append(f"{name}.{key}")
    return found


def outbox_mod(state_dir_of: Callable[[Context], Path]) -> Callable[..., Message]:
    """The mod; `state_dir_of(context)` names the site's private folder."""

    def record_outgoing(msg: Message, context: Context, call_next: Callable[..., Message]) -> Message:
        reply = call_next(msg, context)
        if reply.has_content():
            entry = {
                "time": round(time.time(), 3),
                "message_type": msg.metadata.message_type,
                "group": msg.metadata.group_id,
                **describe(reply.content),
            }
            folder = state_dir_of(context)
            folder.mkdir(parents=True, exist_ok=True)
            with (folder / "outbox.jsonl").open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry) + "\n")
        return reply

    return record_outgoing
