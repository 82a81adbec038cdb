"""The deployed ClientApp stays light to import: Flower 1.41 starts a process per message (four
per SecAgg+ round), each must call back within 30 s, and only the training one needs torch."""

import subprocess
import sys

from fedft.federation.site_identity import SiteIdentity

HEAVY = ("torch", "transformers", "peft", "opacus", "presidio_analyzer", "spacy", "datasets")


def test_loading_the_site_app_imports_no_training_stack_and_installs_the_secure_prg():
    # Execute: a fresh interpreter, as flwr-clientapp is.
    code = (
        "import sys, fedft.federation.site_app\n"
        "from fedft.federation import secagg\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
        "print(secagg.is_secure_prg_installed() and secagg.is_compact_upload_installed())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    # Assert
    assert out.split("\n")[:2] == ["[]", "True"], out


def test_site_identity_comes_from_the_node_config():
    node = {
        "site-id": "st-marys",
        "data-path": "/d/t.jsonl",
        "policy-path": "/d/p.yaml",
        "state-dir": "/s",
    }
    assert SiteIdentity.from_node_config(node) == SiteIdentity(
        "st-marys", None, "/d/t.jsonl", "/d/p.yaml", "/s"
    )
    assert SiteIdentity.from_node_config({"partition-id": 2}).site_id == "site-2"
