"""Debian's headless Chromium for the tests that check what a browser makes of fedft's HTML
report (the tests skip, saying so, where it is not installed: `apt-get install -y chromium`)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian chromium is not installed (apt-get install -y chromium)"
)

# No network, no first-run UI, a throw-away profile: the page is all Chromium looks at.
_QUIET = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium(page: Path, work: Path, *args: str) -> str:
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=work)
    return subprocess.run(
        [CHROMIUM, *_QUIET, f"--user-data-dir={profile}", *args, page.as_uri()],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout


def rendered_dom(page: Path, work: Path) -> str:
    """The page's DOM after Chromium has loaded it (scripts run), serialized."""
    return _chromium(page, work, "--dump-dom")


def screenshot(page: Path, shot: Path, *, width: int, height: int) -> None:
    """A PNG of the page as Chromium draws it in a width x height window."""
    _chromium(page, shot.parent, f"--screenshot={shot}", f"--window-size={width},{height}")


def page_as_shown(page: Path, work: Path) -> str:
    """The page as Chromium parsed it when Chromium is installed (a table the browser would not
    show, e.g. inside a broken tag, is not in it); else the file's text, for machines without."""
    return rendered_dom(page, work) if CHROMIUM is not None else page.read_text()
