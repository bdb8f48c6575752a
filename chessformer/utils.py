"""Small helpers shared by every stage: atomic writes, hashing, progress bars, logging."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from multiprocessing import context as _mp_context
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger("chessformer")


def setup_logging(verbose: bool = False) -> None:
    """Plain ``chessformer: message`` lines on stderr; idempotent."""
    if log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("chessformer: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.propagate = False


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    Readers never see a half-written file: they see the old one or the new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():  # mkstemp makes 0600 files: give the mode a plain open() would
            os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def mp_context() -> _mp_context.BaseContext:
    """The multiprocessing context of every worker pool: fork on Linux (cheap, no re-import),
    spawn elsewhere (fork is unsafe on macOS once threads exist). Its processes end when the
    process that started them dies, however it dies (:func:`die_with_parent`): a ``kill -9`` of
    a command leaves no worker behind, nor, once its stdin closes, any engine a worker ran."""
    if sys.platform.startswith("linux"):
        return _MortalForkContext()
    return _MortalSpawnContext()


def die_with_parent(parent: int, *, from_main_thread: bool = True) -> None:
    """End this process (SIGKILL) as soon as ``parent``, the process that started it, ends.

    On Linux the kernel sends the signal (``PR_SET_PDEATHSIG``). It fires when the *thread*
    that started the child ends, so a child started from another thread, and every child on
    other systems, is watched instead by a daemon thread that polls its parent once a second.
    """
    import signal
    import threading

    armed = False
    if sys.platform.startswith("linux") and from_main_thread:
        import ctypes

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        armed = libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) == 0
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    if not armed:
        def watch() -> None:
            import time

            while os.getppid() == parent:
                time.sleep(1.0)
            os._exit(1)

        threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


class _MortalProcess:
    """Mixed into a multiprocessing Process class: the child dies with its parent."""

    def start(self) -> None:
        import threading

        self._cf_parent = os.getpid()
        self._cf_main = threading.current_thread() is threading.main_thread()
        super().start()  # type: ignore[misc]

    def run(self) -> None:
        die_with_parent(self._cf_parent, from_main_thread=self._cf_main)
        super().run()  # type: ignore[misc]


class MortalSpawnProcess(_MortalProcess, _mp_context.SpawnProcess):
    pass


class _MortalSpawnContext(_mp_context.SpawnContext):
    Process = MortalSpawnProcess


if sys.platform != "win32":
    class MortalForkProcess(_MortalProcess, _mp_context.ForkProcess):
        pass

    class _MortalForkContext(_mp_context.ForkContext):
        Process = MortalForkProcess


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_csv_atomic(path: str | os.PathLike[str], columns: Sequence[str],
                     rows: Iterable[Sequence[Any]]) -> None:
    """A CSV file (a header row, then ``rows``; ``\\n`` line ends), written atomically."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    w.writerows(rows)
    write_text_atomic(path, buf.getvalue())


def writable_folder(out: str | os.PathLike[str]) -> None:
    """Create the output folder ``out`` or raise a one-line :class:`UserError` naming it."""
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot write the output folder {out}: {e.strerror or e}") from None
    if not os.access(out, os.W_OK):
        raise UserError(f"cannot write the output folder {out}: permission denied")


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def command_line(argv: list[str] | None = None) -> str:
    """The command as the user would retype it: ``chessformer train --data ...`` (paths as given,
    not the absolute path of the venv's script)."""
    import shlex

    argv = list(sys.argv if argv is None else argv)
    return shlex.join(["chessformer", *argv[1:]])


def python_call(function: str) -> str:
    """What a stage records as its command when called from Python with none given."""
    return f"python: {function}(...)"


def code_version() -> str:
    """The package version, plus the git commit (``+g1a2b3c4``, ``.dirty`` with local changes)
    when running from a source checkout: what produced a run, eval or report."""
    import subprocess
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("chessformer")
    except PackageNotFoundError:
        v = "unknown"
    if not in_checkout():
        return v
    try:
        git = ["git", "-C", str(ROOT)]
        commit = subprocess.run([*git, "rev-parse", "--short=8", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return v
    return f"{v}+g{commit}" + (".dirty" if dirty else "")


def format_number(x: Any, nd: int = 0, signed: bool = False) -> str:
    """A number for a table cell or a line of text: a float with ``nd`` decimals (a sign with
    ``signed``), another value as ``str``; ``n/a`` for None and non-finite floats. The one number
    formatter of the ratings table, the report and the KG report."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if isinstance(x, float):
        return f"{x:+.{nd}f}" if signed else f"{x:.{nd}f}"
    return str(x)


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def progress(iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str = "",
             unit: str = "it", disable: bool | None = None, **kwargs: Any) -> Any:
    """A tqdm bar on stderr (rate and ETA); silent when stderr is not a terminal unless forced.

    ``CHESSFORMER_PROGRESS=1`` forces bars on (``make`` pipes them fine), ``=0`` turns them off.
    """
    from tqdm.auto import tqdm

    env = os.environ.get("CHESSFORMER_PROGRESS")
    if disable is None:
        disable = env == "0" if env is not None else not sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, dynamic_ncols=True,
                mininterval=0.5, file=sys.stderr, **kwargs)


#: The source checkout's root, where ``evals/``, ``data/experts/`` and ``stockfish/`` live; in an
#: installed wheel this is ``site-packages`` and the configs come from ``chessformer/_resources/``.
ROOT = Path(__file__).resolve().parent.parent
#: Config folders (as named in a checkout) -> their place inside an installed package.
_PACKAGED = {"evals": "evals", "evals/experiments": "evals/experiments", "evals/kg": "evals/kg",
             "data/experts": "experts", "stockfish": "stockfish"}


def in_checkout() -> bool:
    """True when running from a source checkout (an editable install counts), not a wheel."""
    return (ROOT / "pyproject.toml").is_file() and (ROOT / "evals").is_dir()


def resource_dir(folder: str) -> Path:
    """A shipped config folder: the checkout's own (editable, versioned with the code) or the
    wheel's copy, read through :mod:`importlib.resources`."""
    if folder not in _PACKAGED:
        raise ValueError(f"unknown config folder {folder!r}; known: {', '.join(_PACKAGED)}")
    if in_checkout():
        return ROOT / folder
    from importlib.resources import files

    return Path(str(files("chessformer") / "_resources" / _PACKAGED[folder]))


def read_toml(path: str | os.PathLike[str], *, folder: str, what: str) -> tuple[Path, dict[str, Any]]:
    """Read a TOML file; a bare name means ``<folder>/<name>.toml`` among the shipped configs.

    Raises :class:`UserError` naming the file when it is missing (listing the known names) or
    is not valid TOML.
    """
    import tomllib

    p = Path(path)
    shipped = resource_dir(folder)
    if not p.exists() and p.suffix != ".toml":
        p = shipped / f"{path}.toml"
    if not p.exists():
        known = sorted(q.stem for q in shipped.glob("*.toml"))
        raise UserError(f"{what} {path} not found (looked for {p}; known in {folder}/: "
                        f"{', '.join(known) or 'none'})")
    try:
        return p, tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{p}: not valid TOML: {e}") from e
    except UnicodeDecodeError as e:
        raise UserError(f"{p}: not UTF-8 text: {e}") from e



def merge_tables(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; everything else (arrays included) is replaced."""
    out = dict(base)
    for k, v in over.items():
        out[k] = (merge_tables(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict)
                  else v)
    return out


def pop_size(raw: dict[str, Any], size: str, sizes: Sequence[str], where: str | os.PathLike[str],
             ) -> dict[str, Any]:
    """Remove a config's ``[size.*]`` tables; return the one that overrides it at ``size`` (``{}``
    for ``"full"``, the top level itself). A size not in ``sizes``, or one the file has no table
    for, is a :class:`UserError`."""
    if size not in sizes:
        raise UserError(f"--size must be one of {', '.join(sizes)}, not {size!r}")
    tables = raw.pop("size", {})
    if size == "full":
        return {}
    if size not in tables:
        raise UserError(f"{where}: no [size.{size}] table")
    return dict(tables[size])


class UserError(Exception):
    """A problem with the user's input or environment: printed as one clear line, exit code 2."""
