"""The ClientApp a SuperNode loads in a deployment (`[tool.flwr.app.components] clientapp`).

Flower 1.41 starts a fresh `flwr-clientapp` process for every message a site receives; under
SecAgg+ that is four per round (setup, key sharing, masked training, unmasking), and only the
masked-training stage trains. Importing the training stack (torch, transformers, peft, Opacus,
Presidio) takes ~12 s of CPU, so this module imports only Flower, the config schema and the
SecAgg+ code, and loads `fedft.federation.client_app` inside the training call. Behaviour is
that of `build_client_app(cfg)`, with the config read from the run config
(`fedft.federation.run_config`) and the site's settings from the SuperNode's node config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flwr.app import Context, Message
from flwr.client import Client, ClientApp

from fedft.federation.outbox import outbox_mod
from fedft.federation.run_config import config_from_run_config
from fedft.federation.secagg import client_mods, install_secure_prg
from fedft.federation.site_identity import SiteIdentity

# On import: the SecAgg+ stages run in processes that never import client_app.
install_secure_prg()


def _client_fn(context: Context) -> Client:
    # Reached only by messages that train (after the SecAgg+ mod, in the masking stage) or
    # score the global adapter (evaluation.per_site).
    from fedft.federation.client_app import SiteClient  # noqa: PLC0415 (heavy; see module doc)

    site = SiteIdentity.from_node_config(dict(context.node_config))
    return SiteClient(config_from_run_config(context.run_config), site).to_client()


def _secure_aggregation(msg: Message, context: Context, call_next: Any) -> Message:
    """SecAgg+ when the run's config enables it; a site then refuses unmasked training rounds."""
    cfg = config_from_run_config(context.run_config)
    mods = client_mods(cfg.secure_aggregation, seed=cfg.run.seed)
    if not mods:
        return call_next(msg, context)
    (secaggplus,) = mods
    return secaggplus(msg, context, call_next)


def _state_dir(context: Context) -> Path:
    return SiteIdentity.from_node_config(dict(context.node_config)).resolved_state_dir(None)


# Outermost first: the outbox sees the reply as it leaves, after SecAgg+ masking.
app = ClientApp(client_fn=_client_fn, mods=[outbox_mod(_state_dir), _secure_aggregation])
