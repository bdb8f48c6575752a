"""A training run folder (written by ``train``).

    RUN/run.json             provenance: command, data folder and its manifest's sha256, options
    RUN/metrics.jsonl        one row per logged step (train loss; val loss, top-1, legal rate)
    RUN/final_metrics.json   the last evaluation and the run's totals
    RUN/ckpt-STEP/           a checkpoint (see chessformer.model.checkpoint)
    RUN/latest               the name of the checkpoint that loading a run means
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from chessformer.formats import dataset as dataset_format
from chessformer.formats import read_jsonl_lines
from chessformer.formats import records as records_format
from chessformer.utils import UserError, write_text_atomic

RUN_JSON = "run.json"
METRICS = "metrics.jsonl"
FINAL_METRICS = "final_metrics.json"
LATEST = "latest"
CHECKPOINT_PREFIX = "ckpt-"


def checkpoint_name(step: int) -> str:
    return f"{CHECKPOINT_PREFIX}{step:07d}"


def checkpoints(run: str | os.PathLike[str]) -> list[Path]:
    """The run's complete checkpoint folders, oldest first."""
    return sorted(p for p in Path(run).glob(f"{CHECKPOINT_PREFIX}*") if p.is_dir())


def is_run(folder: str | os.PathLike[str]) -> bool:
    folder = Path(folder)
    return (folder / RUN_JSON).is_file() or (folder / METRICS).is_file()


def has_latest(run: str | os.PathLike[str]) -> bool:
    return (Path(run) / LATEST).exists()


def holds_model(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` is a run, or holds a ``latest`` pointer or a checkpoint folder."""
    folder = Path(folder)
    return folder.is_dir() and (is_run(folder) or has_latest(folder) or bool(checkpoints(folder)))


def read_latest(run: str | os.PathLike[str]) -> str | None:
    p = Path(run) / LATEST
    return p.read_text(encoding="utf-8").strip() if p.exists() else None


def write_latest(run: str | os.PathLike[str], name: str) -> None:
    write_text_atomic(Path(run) / LATEST, name + "\n")


@dataclass(frozen=True, kw_only=True)
class RunRecord(records_format.Record):
    """``run.json``: what made a training run (written when it starts; a resume appends itself).

    Schema version 1 (:attr:`SCHEMA`; no version key). The fields with a default were added
    by later releases: a file without them reads as "not recorded".
    """

    SCHEMA: ClassVar[int] = 1

    #: the command as its caller gave it (older releases wrote an argv list)
    command: str | list[str]
    code_version: str | None = None
    #: the dataset folder, its manifest, and the manifest's sha256 (a resume on other data fails)
    data: str
    manifest: str | None = None
    manifest_sha256: str | None = None
    preset: str
    #: the model's ``GPTConfig`` and the resolved ``TrainOptions``, as dicts
    config: dict[str, Any]
    options: dict[str, Any]
    n_params: int | None = None
    world_size: int | None = None
    device: str | None = None
    torch: str | None = None
    #: local time, ISO 8601 to the second
    started: str | None = None
    #: ``{"step", "command", "code_version", "at"}`` of every resume
    resumes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def legal_softmax(self) -> bool:
        """Trained with the loss over legal moves only."""
        return bool(self.options.get("legal_softmax"))


def read_run_record(run: str | os.PathLike[str]) -> RunRecord | None:
    """The run's ``run.json``; None if it has none (or a damaged one, with a warning); a
    valid JSON file that is not a run record is an error naming the file and the field."""
    return RunRecord.load_if_any(Path(run) / RUN_JSON, "run info")


def write_run_record(run: str | os.PathLike[str], info: RunRecord) -> None:
    info.save(Path(run) / RUN_JSON)


def metrics_path(run: str | os.PathLike[str]) -> Path:
    return Path(run) / METRICS


@dataclass(frozen=True, kw_only=True)
class TrainRow(records_format.Record):
    """A ``metrics.jsonl`` row for one optimizer step (``"type": "train"``).

    Schema version 1 (:attr:`SCHEMA`; no version key), written by every release so far.
    """

    SCHEMA: ClassVar[int] = 1
    OMIT_NONE: ClassVar[tuple[str, ...]] = ("threads",)

    type: Literal["train"] = "train"
    #: the number of optimizer steps taken, this one included
    step: int
    #: the step's mean training loss over its micro-batches, and its learning rate
    loss: float
    lr: float
    #: the gradient norm before clipping
    grad_norm: float
    #: tokens per second since this session started, and tokens seen since the run started
    tokens_per_s: float
    tokens: int
    #: seconds since the run started (earlier sessions of a resumed run included)
    elapsed_s: float
    #: torch's thread count for the step, with ``--auto-threads`` only
    threads: int | None = None


@dataclass(frozen=True, kw_only=True)
class ValRow(records_format.Record):
    """A ``metrics.jsonl`` row for one evaluation on the validation games (``"type": "val"``).

    Schema version 1 (:attr:`SCHEMA`; no version key). The probe fields are written with
    ``--base-move-probe`` only, the ``ema_`` ones with ``--ema`` only.
    """

    SCHEMA: ClassVar[int] = 1
    OMIT_NONE: ClassVar[tuple[str, ...]] = (
        "probe_model_base", "probe_experts_base", "probe_positions", "ema_val_loss",
        "ema_val_top1", "ema_val_legal", "ema_val_legal_loss", "ema_val_legal_top1",
        "ema_probe_model_base")

    type: Literal["val"] = "val"
    #: the optimizer steps taken before this evaluation (0: the untrained model)
    step: int
    #: cross-entropy per move token over all moves, and how often the argmax is the move played
    val_loss: float
    val_top1: float
    #: how often the argmax over all moves is a legal move
    val_legal: float
    #: move tokens scored, and positions whose legal moves are known (with boards)
    val_tokens: int
    val_legal_positions: int
    #: the loss and top-1 over the legal moves only (what ``--legal-softmax`` trains)
    val_legal_loss: float
    val_legal_top1: float
    #: how often the model's legal argmax is the experts' base move, how often the experts
    #: played it, and over how many labelled positions (``--base-move-probe``)
    probe_model_base: float | None = None
    probe_experts_base: float | None = None
    probe_positions: int | None = None
    #: the same with the averaged weights (``--ema``)
    ema_val_loss: float | None = None
    ema_val_top1: float | None = None
    ema_val_legal: float | None = None
    ema_val_legal_loss: float | None = None
    ema_val_legal_top1: float | None = None
    ema_probe_model_base: float | None = None

    def evaluation(self) -> dict[str, float | int]:
        """The evaluation's values by name (the row without its type and step)."""
        return {k: v for k, v in self.to_json().items() if k not in ("type", "step")}


MetricRow = TrainRow | ValRow


def _metrics_line(record: MetricRow) -> str:
    return json.dumps(record.to_json()) + "\n"


def append_metrics(run: str | os.PathLike[str], record: MetricRow) -> None:
    with open(metrics_path(run), "a", encoding="utf-8") as f:
        f.write(_metrics_line(record))


def _metric_row(raw: Any, where: str) -> MetricRow:
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind == "train":
        return TrainRow.from_json(raw, where)
    if kind == "val":
        return ValRow.from_json(raw, where)
    raise records_format.RecordError(f"{where}: a metrics row has type 'train' or 'val', got "
                                     f"{kind!r:.40}")


def read_metrics(run: str | os.PathLike[str]) -> list[MetricRow]:
    """The rows of ``metrics.jsonl`` (a line that is not JSON is skipped with a warning; one
    that is JSON but not a metrics row is an error naming the file and line)."""
    path = metrics_path(run)
    return [_metric_row(raw, f"{path}:{lineno}") for lineno, raw in read_jsonl_lines(path)]


def truncate_metrics(run: str | os.PathLike[str], step: int) -> None:
    """Drop rows after ``step`` (a resumed run re-logs them exactly)."""
    path = metrics_path(run)
    if not path.exists():
        return
    keep = [r for r in read_metrics(run) if r.step <= step]
    write_text_atomic(path, "".join(_metrics_line(r) for r in keep))


@dataclass(frozen=True, kw_only=True)
class FinalMetrics(records_format.Record):
    """``final_metrics.json``: a run's totals and last evaluation, written when ``train`` ends.

    Schema version 1 (:attr:`SCHEMA`; no version key), written by every release so far.
    """

    SCHEMA: ClassVar[int] = 1
    OMIT_NONE: ClassVar[tuple[str, ...]] = (
        "probe_model_base", "probe_experts_base", "probe_positions", "thread_switches", "best")

    run_dir: str
    preset: str
    #: the steps taken, the steps planned, and whether they are all taken
    step: int
    max_steps: int
    finished: bool
    n_params: int
    #: the mean training loss of the last 20 steps (None if this session took none)
    train_loss: float | None
    #: the last evaluation (see :class:`ValRow`; None without one)
    val_loss: float | None
    val_top1: float | None
    val_legal: float | None
    probe_model_base: float | None = None
    probe_experts_base: float | None = None
    probe_positions: int | None = None
    #: this session's pace and the run's totals
    tokens_per_s: float
    tokens_seen: int
    model_flops_per_s: float
    elapsed_s: float
    #: the median step's seconds in this session (for sizing ``--max-steps`` to a budget)
    step_s: float | None
    world_size: int
    dtype: str
    device: str
    #: the checkpoint ``latest`` names
    checkpoint: str | None
    #: ``[step, threads]`` from which each thread count ran (``--auto-threads``)
    thread_switches: list[Any] | None = None
    #: ``{"metric", "value", "checkpoint"}`` of the best evaluation (``--keep-best``)
    best: dict[str, Any] | None = None


def read_final_metrics(run: str | os.PathLike[str]) -> FinalMetrics | None:
    """The run's ``final_metrics.json``; None if it has none (or a damaged one, with a
    warning)."""
    return FinalMetrics.load_if_any(Path(run) / FINAL_METRICS, "final metrics")


def write_final_metrics(run: str | os.PathLike[str], final: FinalMetrics) -> None:
    final.save(Path(run) / FINAL_METRICS)


def is_finished(run: str | os.PathLike[str]) -> bool:
    return (Path(run) / FINAL_METRICS).is_file()


def run_dataset(run: str | os.PathLike[str]) -> Path | None:
    """The dataset folder the run trained on (from ``run.json``), if recorded."""
    rec = read_run_record(run)
    return Path(rec.data) if rec is not None and rec.data else None


def run_elo_cap(run: str | os.PathLike[str]) -> int | None:
    """The Elo cap of the run's training data, read from the dataset manifest ``ingest`` wrote."""
    data = run_dataset(run)
    if data is None:
        return None
    try:
        return dataset_format.read_manifest(data).elo_cap
    except UserError:
        return None
