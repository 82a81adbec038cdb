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

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flwr.app import Context, Message
from flwr.client import Client, ClientApp

from fedft.federation.outbox import outbox_mod
from fedft.federation.run_config import config_from_run_config
from fedft.federation.secagg import client_mods, install_secure_prg

# On import: the SecAgg+ stages run in processes that never import client_app.
install_secure_prg()


@dataclass(frozen=True)
class SiteIdentity:
    """Who a site is and where its private things live (from the SuperNode's node config)."""

    site_id: str
    partition_id: int | None
    data_path: str | None
    policy_path: str | None = None
    state_dir: str | None = None

    @classmethod
    def from_node_config(cls, node_config: dict) -> SiteIdentity:
        pid = node_config.get("partition-id")
        site = node_config.get("site-id") or (f"site-{int(pid)}" if pid is not None else "site")
        return cls(
            site_id=str(site),
            partition_id=None if pid is None else int(pid),
            data_path=str(node_config["data-path"]) if node_config.get("data-path") else None,
            policy_path=str(node_config["policy-path"]) if node_config.get("policy-path") else None,
            state_dir=str(node_config["state-dir"]) if node_config.get("state-dir") else None,
        )

    def resolved_state_dir(self, sites_root: Path | None) -> Path:
        """Site-private folder: caches, keys, reports. Never sent anywhere."""
        if self.state_dir:
            return Path(self.state_dir).expanduser()
        return (sites_root or Path.cwd() / "fedft-site-state") / self.site_id


def _client_fn(context: Context) -> Client:
    # Reached only by messages that train (after the SecAgg+ mod, in the masking stage).
    from fedft.federation.client_app import SiteClient  # noqa: PLC0415 (heavy; see module doc)

    site = SiteIdentity.from_node_config(dict(context.node_config))
    return SiteClient(config_from_run_config(context.run_config), site).to_client()


def _secure_aggregation(msg: Message, context: Context, call_next: Any) -> Message:
    """SecAgg+ when the run's config enables it; a site then refuses unmasked training rounds."""
    mods = client_mods(config_from_run_config(context.run_config).secure_aggregation)
    if not mods:
        return call_next(msg, context)
    (secaggplus,) = mods
    return secaggplus(msg, context, call_next)


def _state_dir(context: Context) -> Path:
    return SiteIdentity.from_node_config(dict(context.node_config)).resolved_state_dir(None)


# Outermost first: the outbox sees the reply as it leaves, after SecAgg+ masking.
app = ClientApp(client_fn=_client_fn, mods=[outbox_mod(_state_dir), _secure_aggregation])
