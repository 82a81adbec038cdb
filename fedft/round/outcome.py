"""Why a sampled site sent no update in a round, as a type.

A site that refuses a round (its privacy budget would be exceeded) cannot reply with metrics:
under SecAgg+ every reply must carry a masked update. It raises instead, and Flower carries
only the error's text to the server. So the refusal's text has one form, defined here for
both sides: `declined_message` builds it at the site, `failure_kind` reads it at the server,
once, where the failure is recorded; everything after that works on the `FailureKind`.
"""

from __future__ import annotations

import re
from enum import StrEnum


class FailureKind(StrEnum):
    DECLINED = "declined"  # the site refused the round (its privacy budget); nothing is broken
    REJECTED = "rejected"  # the server refused its update (shape, NaN, norm, replay)
    ERROR = "error"  # it crashed, timed out or vanished
    ABORTED = "aborted"  # the round ended without an aggregate (SecAgg+: too few answered)


# A site id is a node config value without spaces or quotes; Flower wraps the text in quotes.
_DECLINED = re.compile(r"(?<![^\s'\"<(])[^\s'\"<>]+ declined round \d+\b")
# The same, capturing the site id and the reason up to the end of its line, less the quotes
# and brackets Flower and Ray wrap it in (`<class 'RuntimeError'>:<'...'>`). Ray's error text
# may arrive escaped (a literal backslash-n ends the line; `\'` is a quote).
_DECLINED_PARTS = re.compile(
    r"(?<![^\s'\"<(])(?P<site>[^\s'\"<>]+) declined round (?P<round>\d+): "
    r"(?P<reason>(?:[^\n\\]|\\[^n])*)"
)


def declined_message(*, site_id: str, server_round: int, reason: str) -> str:
    """The error text of a site that declines a round; `reason` is what the ledger records."""
    return f"{site_id} declined round {server_round}: {reason}"


def failure_kind(error_text: str) -> FailureKind:
    """DECLINED if the error (as Flower reports it) is a site's `declined_message`, else ERROR."""
    return FailureKind.DECLINED if _DECLINED.search(error_text) else FailureKind.ERROR


def declined_parts(error_text: str) -> tuple[str, str] | None:
    """(site id, clean `declined_message`) of a site's refusal as Flower/Ray report it, or None.

    The site id names the refusing site even when Flower cannot tell which node raised it.
    """
    match = _DECLINED_PARTS.search(error_text)
    if match is None:
        return None
    reason = match["reason"].replace("\\'", "'").rstrip().rstrip("'\">)").rstrip()
    message = f"{match['site']} declined round {match['round']}: {reason}"
    return match["site"], message
