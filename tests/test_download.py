"""``chessformer download`` against a local HTTP server (127.0.0.1) with Range support."""

from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from chessformer.data.download import download_lichess, dump_name, parse_sha256sums
from chessformer.utils import UserError

PAYLOAD = bytes(range(256)) * 4000  # ~1 MB, more than one read block
NAME = dump_name("2013-01")


class _Server:
    """Serves /standard/NAME and /standard/sha256sums.txt; can cut the first body short."""

    def __init__(self, payload: bytes, checksum: str) -> None:
        self.payload = payload
        self.checksum = checksum
        self.cut_first_at: int | None = None
        self.ranges: list[str | None] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):  # keep test output clean
                pass

            def do_GET(self):
                if self.path == "/standard/sha256sums.txt":
                    body = f"{'0' * 64}  other.pgn.zst\n{outer.checksum}  {NAME}\n".encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if self.path != f"/standard/{NAME}":
                    self.send_error(404)
                    return
                rng = self.headers.get("Range")
                outer.ranges.append(rng)
                start = int(rng.split("=")[1].split("-")[0]) if rng else 0
                body = outer.payload[start:]
                self.send_response(206 if rng else 200)
                if rng:
                    self.send_header("Content-Range",
                                     f"bytes {start}-{len(outer.payload) - 1}/{len(outer.payload)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if outer.cut_first_at is not None:
                    cut, outer.cut_first_at = outer.cut_first_at, None
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_parse_sha256sums_and_name():
    h = "a" * 64
    assert parse_sha256sums(f"{h}  x.pgn.zst\n{h.upper()} *y.pgn.zst\nnot a line\n") == {
        "x.pgn.zst": h, "y.pgn.zst": h}
    assert dump_name("2024-01", "atomic") == "lichess_db_atomic_rated_2024-01.pgn.zst"
    with pytest.raises(UserError):
        dump_name("2024-13")


def test_download_verifies(tmp_path: Path):
    with _Server(PAYLOAD, hashlib.sha256(PAYLOAD).hexdigest()) as srv:
        res = download_lichess("2013-01", out=tmp_path, base_url=srv.url)
    assert res.path == tmp_path / NAME
    assert res.path.read_bytes() == PAYLOAD
    assert res.resumed_from == 0
    assert not (tmp_path / (NAME + ".part")).exists()


def test_interrupted_download_resumes_with_range(tmp_path: Path):
    with _Server(PAYLOAD, hashlib.sha256(PAYLOAD).hexdigest()) as srv:
        srv.cut_first_at = 300_000
        with pytest.raises(UserError, match="interrupted after"):
            download_lichess("2013-01", out=tmp_path, base_url=srv.url)
        part = tmp_path / (NAME + ".part")
        assert part.exists() and 0 < part.stat().st_size < len(PAYLOAD)
        assert not (tmp_path / NAME).exists()  # nothing that looks complete
        got = part.stat().st_size
        res = download_lichess("2013-01", out=tmp_path, base_url=srv.url)
    assert srv.ranges == [None, f"bytes={got}-"]
    assert res.resumed_from == got
    assert (tmp_path / NAME).read_bytes() == PAYLOAD


def test_checksum_mismatch_is_an_error(tmp_path: Path):
    with _Server(PAYLOAD, hashlib.sha256(b"something else").hexdigest()) as srv:
        with pytest.raises(UserError, match="does not match"):
            download_lichess("2013-01", out=tmp_path, base_url=srv.url)
    assert not (tmp_path / NAME).exists()
    assert (tmp_path / (NAME + ".bad")).read_bytes() == PAYLOAD


def test_missing_month_in_checksum_list(tmp_path: Path):
    with _Server(PAYLOAD, hashlib.sha256(PAYLOAD).hexdigest()) as srv:
        with pytest.raises(UserError, match="lists no checksum"):
            download_lichess("2013-02", out=tmp_path, base_url=srv.url)
