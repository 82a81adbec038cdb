"""Who a site is and where its private things live, read from the SuperNode's node config.

Shared by the deployed ClientApp (`site_app`) and the training client (`client_app`) without
either importing the other."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fedft.config.site_policy import SiteMinimums


@dataclass(frozen=True)
class SiteIdentity:
    """Who a site is and where its private things live (from the SuperNode's node config)."""

    site_id: str
    partition_id: int | None
    data_path: str | None
    policy_path: str | None = None
    state_dir: str | None = None
    signing_key: str | None = None  # the site's Ed25519 key (default <state dir>/keys/)
    minimums: SiteMinimums = field(default_factory=SiteMinimums)  # the steward's requirements

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
            signing_key=str(node_config["signing-key"]) if node_config.get("signing-key") else None,
            minimums=SiteMinimums.from_node_config(node_config),
        )

    def resolved_state_dir(self, sites_root: Path | None) -> Path:
        """Site-private folder: caches, keys, reports. Never sent anywhere."""
        if self.state_dir:
            return Path(self.state_dir).expanduser()
        return (sites_root or Path.cwd() / "fedft-site-state") / self.site_id
