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
from pathlib import Path
from typing import Any

from chessformer.formats import dataset as dataset_format
from chessformer.formats import read_json_or_empty, read_jsonl
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


def read_run_info_or_empty(run: str | os.PathLike[str]) -> dict[str, Any]:
    return read_json_or_empty(Path(run) / RUN_JSON, "run info")


def write_run_info(run: str | os.PathLike[str], info: dict[str, Any]) -> None:
    write_json_atomic(Path(run) / RUN_JSON, info)


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


def run_options(info: dict[str, Any]) -> dict[str, Any]:
    """The training options recorded in a run's ``run.json`` (``info``; empty when absent)."""
    return dict(info.get("options") or {})


def run_dataset(run: str | os.PathLike[str]) -> Path | None:
    """The dataset folder the run trained on (from ``run.json``), if recorded."""
    data = read_run_info_or_empty(run).get("data")
    return Path(data) if data else None


def run_elo_cap(run: str | os.PathLike[str]) -> int | None:
    """The Elo cap of the run's training data, read from the dataset manifest ``ingest`` wrote."""
    data = run_dataset(run)
    if data is None:
        return None
    try:
        return dataset_format.elo_cap(dataset_format.read_manifest(data))
    except UserError:
        return None
