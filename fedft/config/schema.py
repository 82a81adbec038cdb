"""The one fedft config schema. Defaults live here and nowhere else."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PositiveInt, field_validator

from fedft.config.anonymization import AnonymizationConfig
from fedft.config.audit import AuditConfig
from fedft.config.base import StrictModel
from fedft.config.dedup import DedupConfig
from fedft.config.dp import DPConfig, SiteDPConfig, dp_cross_errors
from fedft.config.evaluation import EvaluationConfig, evaluation_cross_errors
from fedft.config.generation import GenerationEvalConfig
from fedft.config.ledger import LedgerConfig
from fedft.config.secure_aggregation import SecureAggregationConfig, check_against_clients
from fedft.config.strategy import StrategyConfig, strategy_cross_errors
from fedft.config.tracking import TrackingConfig


class RunConfig(StrictModel):
    name: str = Field("fedft", pattern=r"^[A-Za-z0-9._-]+$")
    seed: int = Field(0, ge=0, lt=2**32)
    output_dir: Path = Path("runs")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # Where a simulation's sites and the server keep anonymized corpora between runs, so a
    # rerun on the same data skips anonymization (fedft.anonymize.cache): "auto" (the user's
    # cache folder), "off" (the run folder only), or a folder. A deployed site keeps its cache
    # in its own state folder whatever this says.
    anonymization_cache: Literal["auto", "off"] | Path = "auto"

    @field_validator("anonymization_cache", mode="before")
    @classmethod
    def _yaml_off(cls, v: Any) -> Any:
        # YAML reads a bare `off` (and `no`, `false`) as False, `on` as True.
        return {False: "off", True: "auto"}.get(v, v) if isinstance(v, bool) else v


class SyntheticDataConfig(StrictModel):
    """The demo corpus used when `data.train` is absent."""

    kind: Literal["clinical", "banking"] = "clinical"
    n_train: PositiveInt = 2000
    n_eval: PositiveInt = 300


class PartitionConfig(StrictModel):
    """How a simulation splits the training file across virtual sites."""

    kind: Literal["iid", "dirichlet"] = "iid"
    alpha: float = Field(1.0, gt=0.0, description="Dirichlet concentration; small = more label skew")


class DataConfig(StrictModel):
    task: Literal["classification", "instruction"] = "classification"
    train: Path | None = None
    eval: Path | None = None
    text_field: str = "text"
    label_field: str = "label"
    instruction_field: str = "instruction"
    input_field: str = "input"
    response_field: str = "response"
    labels: list[str] | None = Field(None, min_length=2)
    bad_rows: Literal["skip", "error"] = "skip"
    max_length: int = Field(128, ge=8, le=8192)
    # Rows with more text than this (characters) are reported as bad rows, never trained on.
    max_row_chars: int = Field(100_000, ge=1, le=1_000_000)
    max_eval_examples: PositiveInt | None = None
    synthetic: SyntheticDataConfig = SyntheticDataConfig()
    partition: PartitionConfig = PartitionConfig()
    dedup: DedupConfig = DedupConfig()


class ModelConfig(StrictModel):
    path: str | None = Field(
        None, description="Local Hugging Face folder or cached hub id; None = bundled MiniLM"
    )
    pooling: Literal["auto", "cls", "mean"] = Field(
        "auto",
        description=(
            "What the classification head reads: 'mean' = mean of the token states, normalised "
            "(how sentence-transformers bases such as the bundled MiniLM were trained); 'cls' = "
            "the model's own pooled output; 'auto' = mean when the base folder declares "
            "sentence-transformers mean pooling, else cls"
        ),
    )
    head_init: Literal["random", "label_names", "auto"] = Field(
        "random",
        description=(
            "How the classification head starts: 'random' (seeded, transformers' default); "
            "'label_names' = each row is the base's embedding of its label's name "
            "(model.label_template), a zero-shot classifier built from public names only, so "
            "free in privacy; for sentence-embedding bases read with mean pooling; 'auto' = "
            "label_names where the labels are names and the base an encoder, else random "
            "(and nothing for the instruction task, which has no head)"
        ),
    )
    label_template: str = Field(
        "{label}",
        description="Text embedded per label under head_init 'label_names'; '{label}' = the name",
    )
    head_fit: Literal["none", "least_squares", "auto"] = Field(
        "none",
        description=(
            "'least_squares': round 1 trains nothing; each site uploads the mean second moments "
            "of what the head reads (SecAgg+ shows the server only their average) and the "
            "server sets the head to the pooled ridge solution, so the LoRA rounds start from a "
            "fitted head. Classification with mean pooling, fedavg or fedprox, not under DP "
            "(the statistics are not noised). 'auto': least_squares where it applies, else "
            "none. 'none': the head is trained like the rest"
        ),
    )
    # 1e-5 to 1e-3 all reach 86.2-87.0 % on the default task's frozen features
    # (bench/bench_head_fit_emulation.py); far below, directions the data never visits blow up.
    head_fit_ridge: float = Field(
        3e-4,
        gt=0.0,
        allow_inf_nan=False,
        description="ρ of the least-squares head, on mean statistics (λ/n); head_fit only",
    )


class LoraConfig(StrictModel):
    r: int = Field(8, ge=1, le=1024)
    alpha: float = Field(16.0, gt=0.0)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    target_modules: list[str] | None = None
    mode: Literal["standard", "ffa"] = "ffa"
    last_layers: PositiveInt | None = Field(
        None,
        description=(
            "Adapt only the top N transformer layers (null: all). Backpropagation stops at the "
            "lowest adapted layer, so fewer layers make each step cheaper"
        ),
    )


class TrainingConfig(StrictModel):
    local_epochs: PositiveInt = 1
    max_steps: PositiveInt | None = Field(
        None, description="Cap on optimizer steps per round and site (None = full epochs)"
    )
    batch_size: PositiveInt = 16
    eval_batch_size: PositiveInt = 64
    learning_rate: float = Field(1e-3, gt=0.0, le=100.0)
    weight_decay: float = Field(0.0, ge=0.0)
    max_grad_norm: float | None = Field(1.0, gt=0.0)
    optimizer: Literal["adamw", "sgd"] = Field(
        "adamw",
        description=(
            "adamw: adaptive steps, the non-DP default. sgd: SGD with momentum; under DP-SGD "
            "it moves each coordinate in proportion to its noisy gradient, where Adam's "
            "normalisation turns pure-noise coordinates into learning-rate-sized steps"
        ),
    )
    momentum: float = Field(0.9, ge=0.0, lt=1.0, description="SGD momentum (optimizer: sgd)")


class FederationConfig(StrictModel):
    num_clients: int = Field(4, ge=1, le=10_000)
    rounds: int = Field(5, ge=1, le=100_000)
    fraction_fit: float = Field(1.0, gt=0.0, le=1.0, description="Share of sites sampled per round")
    min_fit_clients: PositiveInt = 2
    # Finite, so one hung site cannot stall a run; SecAgg+ stages use secure_aggregation.timeout.
    round_timeout: float = Field(
        3600.0, gt=0.0, le=604_800.0, allow_inf_nan=False,
        description="Seconds the server waits for the sites' updates in a round without SecAgg+",
    )
    backend: Literal["inprocess", "ray"] = Field(
        "inprocess",
        description=(
            "What runs the simulated sites (`fedft simulate` only; a deployment's sites are its "
            "SuperNodes). inprocess: one site at a time in fedft's own process, torch on every "
            "core; no extra processes, no network sockets. ray: Flower's Ray backend, "
            "client_cpus/client_gpus per site, several at once on a large machine; Ray's "
            "GCS and raylet listen on all interfaces (docs/security.md)"
        ),
    )
    client_cpus: float = Field(
        1.0, gt=0.0, description="CPUs Ray reserves per simulated site (backend: ray only)"
    )
    client_gpus: float = Field(
        0.0, ge=0.0, description="GPUs Ray reserves per simulated site (backend: ray only)"
    )


class Config(StrictModel):
    run: RunConfig = RunConfig()
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    lora: LoraConfig = LoraConfig()
    training: TrainingConfig = TrainingConfig()
    federation: FederationConfig = FederationConfig()
    strategy: StrategyConfig = StrategyConfig()
    anonymization: AnonymizationConfig = AnonymizationConfig()
    dp: DPConfig = DPConfig()
    site_dp: SiteDPConfig = SiteDPConfig()
    secure_aggregation: SecureAggregationConfig = SecureAggregationConfig()
    audit: AuditConfig = AuditConfig()
    ledger: LedgerConfig = LedgerConfig()
    generation_eval: GenerationEvalConfig = GenerationEvalConfig()
    tracking: TrackingConfig = TrackingConfig()
    evaluation: EvaluationConfig = EvaluationConfig()


def cross_section_errors(cfg: Config) -> list[str]:
    """Constraints that span sections; each message names the key path and the fix."""
    errors = []
    fed = cfg.federation
    if fed.min_fit_clients > fed.num_clients:
        errors.append(
            f"federation.min_fit_clients: {fed.min_fit_clients} exceeds federation.num_clients "
            f"({fed.num_clients}); lower it or add clients"
        )
    if cfg.data.task == "instruction" and cfg.model.path is None:
        errors.append(
            "model.path: the instruction task needs a causal language model; give a local "
            "Hugging Face folder or cached hub id (the bundled default is an encoder)"
        )
    if cfg.data.task == "instruction" and cfg.model.head_init == "label_names":
        errors.append(
            f"model.head_init: '{cfg.model.head_init}' builds a classification head from label "
            "names; the instruction task has no labels. Use 'random'"
        )
    errors += _head_fit_errors(cfg)
    if "{label}" not in cfg.model.label_template:
        errors.append(
            f"model.label_template: {cfg.model.label_template!r} has no '{{label}}' placeholder; "
            "write e.g. 'a clinical note about {label}'"
        )
    if cfg.data.task == "instruction" and cfg.data.partition.kind == "dirichlet":
        errors.append(
            "data.partition.kind: dirichlet label skew needs labels; use 'iid' for the "
            "instruction task"
        )
    # data.eval alone is a deployment coordinator's config (the sites bring their own data);
    # a simulation refuses it before any work (fedft.federation.simulation.check_inputs).
    if cfg.data.train is not None and cfg.data.eval is None:
        errors.append(
            "data.eval: data.train needs a held-out data.eval (or give neither: the synthetic "
            "demo corpus)"
        )
    errors += _dp_budget_errors(cfg.dp)
    errors += dp_cross_errors(
        cfg.dp,
        cfg.site_dp,
        strategy_name=cfg.strategy.name,
        proximal_mu=cfg.strategy.proximal_mu,
        rounds=cfg.federation.rounds,
        num_clients=fed.num_clients,
    )
    errors += strategy_cross_errors(
        cfg.strategy,
        secure_aggregation=cfg.secure_aggregation.enabled,
        site_dp=cfg.site_dp.enabled,
        min_fit_clients=fed.min_fit_clients,
    )
    errors += evaluation_cross_errors(cfg.evaluation, dp_enabled=cfg.dp.enabled)
    errors += check_against_clients(
        cfg.secure_aggregation,
        num_clients=fed.num_clients,
        min_fit_clients=fed.min_fit_clients,
        fraction_fit=fed.fraction_fit,
    )
    return errors


def head_fit_blockers(cfg: Config) -> list[str]:
    """Why round 1 cannot fit the head from the sites' statistics here (empty: it can)."""
    reasons = []
    if cfg.data.task != "classification":
        reasons.append("the instruction task has no classification head")
    if cfg.model.pooling == "cls":
        reasons.append("model.pooling cls: the statistics need unit-norm (mean-pooled) embeddings")
    if cfg.dp.enabled or cfg.site_dp.enabled:
        reasons.append(
            "the feature statistics are not noised, so DP would not cover round 1 (noised "
            "statistics of this size cost more accuracy than they give; use head_init "
            "label_names)"
        )
    if cfg.strategy.name not in ("fedavg", "fedprox"):
        reasons.append(
            f"strategy.name {cfg.strategy.name}: the statistics are averaged plainly, which a "
            "robust strategy exists to avoid, and FedAdam's server state would not see the new "
            "head; use fedavg or fedprox"
        )
    return reasons


# The round that fits the head when fits_head(cfg): the first, before any LoRA training.
HEAD_FIT_ROUND = 1


def fits_head(cfg: Config, *, pooling: str | None = None) -> bool:
    """Whether round 1 is the head-fit round (model.head_fit least_squares, or auto where it
    applies). `pooling`: what the loaded model's head reads, where known (`pooling: auto`
    resolves only when the model loads); anything but mean pooling rules it out."""
    if pooling is not None and pooling != "mean":
        return False
    return cfg.model.head_fit != "none" and not head_fit_blockers(cfg)


def _head_fit_errors(cfg: Config) -> list[str]:
    if cfg.model.head_fit != "least_squares":
        return []
    return [
        f"model.head_fit: 'least_squares' cannot be used here: {r}; use 'auto' or 'none'"
        for r in head_fit_blockers(cfg)
    ]


def _dp_budget_errors(dp: DPConfig) -> list[str]:
    """DP-SGD must come with a cap, and a target the cap allows."""
    if not dp.enabled:
        return []
    if dp.max_epsilon is None:
        # No default: a cap is a promise to the data owners that fedft cannot choose for them.
        hint = f", e.g. {dp.target_epsilon:g} (dp.target_epsilon)" if dp.target_epsilon else ""
        return [
            "dp.max_epsilon: not set while dp.enabled is true; sites would spend privacy budget "
            f"with no limit across runs. Give the largest ε a site may spend{hint}"
        ]
    if dp.target_epsilon is not None and dp.target_epsilon > dp.max_epsilon:
        return [
            f"dp.target_epsilon: {dp.target_epsilon:g} exceeds dp.max_epsilon "
            f"({dp.max_epsilon:g}); sites would decline rounds before the run ends. Lower "
            "target_epsilon or raise max_epsilon"
        ]
    return []


def config_warnings(cfg: Config) -> list[str]:
    """Valid but risky choices, each naming its key; shown whenever a config is loaded."""
    warnings = []
    if not cfg.anonymization.enabled:
        warnings.append(
            "anonymization.enabled: false: sites train on their text UNCHANGED; names, record "
            "numbers and other identifiers reach the model, which can reveal them. Use only "
            "for data holding no personal information"
        )
    return warnings
