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
from typing import Any, ClassVar

from chessformer.formats import dataset as dataset_format
from chessformer.formats import read_json_or_empty, read_jsonl
from chessformer.formats import records as records_format
from chessformer.utils import UserError, write_json_atomic, write_text_atomic

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
    path = Path(run) / RUN_JSON
    raw = read_json_or_empty(path, "run info")
    return RunRecord.from_json(raw, str(path)) if raw else None


def write_run_record(run: str | os.PathLike[str], info: RunRecord) -> None:
    write_json_atomic(Path(run) / RUN_JSON, info.to_json())


def metrics_path(run: str | os.PathLike[str]) -> Path:
    return Path(run) / METRICS


def _metrics_line(record: dict[str, Any]) -> str:
    return json.dumps(record) + "\n"


def append_metrics(run: str | os.PathLike[str], record: dict[str, Any]) -> None:
    with open(metrics_path(run), "a", encoding="utf-8") as f:
        f.write(_metrics_line(record))


def read_metrics(run: str | os.PathLike[str]) -> list[dict[str, Any]]:
    return read_jsonl(metrics_path(run))


def truncate_metrics(run: str | os.PathLike[str], step: int) -> None:
    """Drop rows after ``step`` (a resumed run re-logs them exactly)."""
    path = metrics_path(run)
    if not path.exists():
        return
    keep = [r for r in read_jsonl(path) if r.get("step", 0) <= step]
    write_text_atomic(path, "".join(_metrics_line(r) for r in keep))


def read_final_metrics(run: str | os.PathLike[str]) -> dict[str, Any]:
    return read_json_or_empty(Path(run) / FINAL_METRICS, "final metrics")


def write_final_metrics(run: str | os.PathLike[str], final: dict[str, Any]) -> None:
    write_json_atomic(Path(run) / FINAL_METRICS, final)


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
