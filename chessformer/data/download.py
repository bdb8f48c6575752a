"""``chessformer download``: fetch a Lichess monthly dump, resumably, and check its sha256.

    chessformer download lichess 2024-01 --out data/lichess
    chessformer download lichess 2024-01 --variant standard --base-url https://database.lichess.org

The file is ``{base}/{variant}/lichess_db_{variant}_rated_{YYYY-MM}.pgn.zst``. It downloads to
``NAME.part`` and resumes from where that stopped with an HTTP ``Range`` request (a server that
ignores the range gets the file again from the start); once complete it is checked against the
published list ``{base}/{variant}/sha256sums.txt`` (lines ``<hex>  <filename>``) and only then
renamed to ``NAME``. A checksum mismatch keeps nothing and raises a clear error. Standard library
only (``urllib``).
"""

from __future__ import annotations

import http.client
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from chessformer.utils import UserError, log, progress, sha256_file

__all__ = ["DEFAULT_BASE_URL", "download_lichess", "dump_name", "parse_sha256sums"]

DEFAULT_BASE_URL = "https://database.lichess.org"
_BLOCK = 1 << 20


def dump_name(month: str, variant: str = "standard") -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise UserError(f"month must look like 2024-01, got {month!r}")
    if not re.fullmatch(r"[a-zA-Z0-9]+", variant):
        raise UserError(f"bad variant name {variant!r}")
    return f"lichess_db_{variant}_rated_{month}.pgn.zst"


def parse_sha256sums(text: str) -> dict[str, str]:
    """``<hex>  <filename>`` lines (``*`` binary marker allowed) -> filename -> hex."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = re.fullmatch(r"\s*([0-9a-fA-F]{64})\s+\*?(\S+)\s*", line)
        if m:
            out[m.group(2)] = m.group(1).lower()
    return out


@dataclass
class DownloadResult:
    path: Path
    size: int
    sha256: str
    resumed_from: int


def _open(url: str, start: int = 0, timeout: float = 60.0):
    req = urllib.request.Request(url, headers={"User-Agent": "chessformer-download"})
    if start:
        req.add_header("Range", f"bytes={start}-")
    return urllib.request.urlopen(req, timeout=timeout)


def fetch(url: str, dest: Path, *, timeout: float = 60.0) -> int:
    """Download ``url`` to ``dest`` (appending to an existing partial file). Returns the offset
    it resumed from."""
    start = dest.stat().st_size if dest.exists() else 0
    try:
        resp = _open(url, start, timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and start:  # range past the end: the partial file is already complete
            return start
        raise UserError(f"cannot download {url}: HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        raise UserError(f"cannot download {url}: {e.reason}") from None
    with resp:
        if start and resp.status != 206:  # server ignored Range: start over
            log.warning("%s: the server does not resume (HTTP %d); downloading from the start",
                        url, resp.status)
            start = 0
        length = resp.headers.get("Content-Length")
        total = start + int(length) if length is not None else None
        mode = "ab" if start else "wb"
        with open(dest, mode) as f, progress(total=total, initial=start, unit="B",
                                             unit_scale=True, desc=dest.name) as bar:
            try:
                while block := resp.read(_BLOCK):
                    f.write(block)
                    bar.update(len(block))
            except (http.client.IncompleteRead, OSError) as e:
                f.flush()
                raise UserError(f"download of {url} interrupted after {f.tell()} bytes ({e}); "
                                "run the same command again to resume") from None
            if total is not None and f.tell() < total:  # the connection closed early
                raise UserError(f"download of {url} interrupted after {f.tell()} of {total} "
                                "bytes; run the same command again to resume")
    return start


def download_lichess(month: str, *, variant: str = "standard", out: str | os.PathLike[str] = ".",
                     base_url: str = DEFAULT_BASE_URL, timeout: float = 60.0,
                     verify: bool = True) -> DownloadResult:
    """Fetch (or resume) one monthly dump into ``out`` and verify it; see the module docstring."""
    name = dump_name(month, variant)
    base = f"{base_url.rstrip('/')}/{variant}"
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / name
    expected = None
    if verify:
        sums_url = f"{base}/sha256sums.txt"
        try:
            with _open(sums_url, timeout=timeout) as r:
                sums = parse_sha256sums(r.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as e:
            raise UserError(f"cannot fetch the checksum list {sums_url}: HTTP {e.code}") from None
        except urllib.error.URLError as e:
            raise UserError(f"cannot fetch the checksum list {sums_url}: {e.reason}") from None
        expected = sums.get(name)
        if expected is None:
            raise UserError(f"{sums_url} lists no checksum for {name} (is the month published?)")
    if final.exists():
        digest = sha256_file(final)
        if expected is None or digest == expected:
            log.info("%s is already here%s", final, " and verified" if expected else "")
            return DownloadResult(final, final.stat().st_size, digest, final.stat().st_size)
        log.warning("%s exists but its sha256 does not match; downloading again", final)
        final.unlink()
    part = out_dir / (name + ".part")
    resumed = fetch(f"{base}/{name}", part, timeout=timeout)
    digest = sha256_file(part)
    if expected is not None and digest != expected:
        bad = part.with_name(name + ".bad")
        os.replace(part, bad)
        raise UserError(f"{name}: sha256 {digest} does not match the published {expected}; "
                        f"the download was moved to {bad} (delete it and try again)")
    os.replace(part, final)
    log.info("%s: %d bytes, sha256 %s%s", final, final.stat().st_size, digest,
             " (verified)" if expected else "")
    return DownloadResult(final, final.stat().st_size, digest, resumed)
