"""Model: shapes, init loss, mover's-frame mirroring, KV cache equivalence, loading."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from chessformer.core import tokenizer
from chessformer.core.boards import BOARD_BYTES
from chessformer.model.checkpoint import save_checkpoint
from chessformer.model.transformer import GPT, PRESETS, GPTConfig, load_model
from chessformer.utils import UserError


def _model(mode: str, seed: int = 0, **kw) -> GPT:
    torch.manual_seed(seed)
    cfg = dict(n_layer=2, n_head=2, d_model=32, block_size=64, input_mode=mode)
    cfg.update(kw)
    return GPT(GPTConfig(**cfg)).eval()


def _random_inputs(B: int, T: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(len(tokenizer.SPECIALS), tokenizer.VOCAB_SIZE, (B, T), generator=g)
    boards = torch.randint(0, 256, (B, T, BOARD_BYTES), generator=g, dtype=torch.uint8)
    boards[..., 113] %= 9  # the en-passant byte holds file + 1, or 0
    return idx, boards


@pytest.mark.parametrize("mode", ["moves", "moves+board"])
def test_forward_shapes_and_initial_loss(mode):
    model = _model(mode)
    idx, boards = _random_inputs(3, 20)
    targets = torch.roll(idx, -1, 1)
    targets[:, -1] = -1
    logits, loss = model(idx, boards, targets)
    assert logits.shape == (3, 20, tokenizer.VOCAB_SIZE)
    # N(0, 0.02) init: near-uniform predictions, loss close to ln(V) (N(0,1) gave ~76).
    assert abs(loss.item() - math.log(tokenizer.VOCAB_SIZE)) < 0.1
    # The loss is the cross-entropy of the returned (absolute-token) logits.
    ref = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
    assert torch.allclose(loss, ref, atol=1e-5)
    assert model(idx, boards)[1] is None


def test_board_mode_requires_boards():
    model = _model("moves+board")
    idx, _ = _random_inputs(1, 5)
    with pytest.raises(ValueError, match="boards"):
        model(idx)


def test_board_mode_works_in_the_movers_frame():
    """Black to move with token t == White to move with MIRROR[t], logits mirrored back
    (once the colour-bit feature, the only thing that tells them apart, is silenced)."""
    model = _model("moves+board")
    colour_feature = 14 * 64 + 4
    with torch.no_grad():
        model.board_proj.weight[:, colour_feature] = 0
    idx, boards = _random_inputs(2, 6, seed=3)
    white = boards.clone()
    white[..., 112] &= ~np.uint8(16)
    black = white.clone()
    black[..., 112] |= 16
    mirror = torch.as_tensor(tokenizer.MIRROR)
    logits_black, _ = model(idx, black)
    logits_white, _ = model(mirror[idx], white)
    assert torch.allclose(logits_black, logits_white[..., mirror], atol=1e-5)
    # and the frame matters: without mirroring the token, the outputs differ
    assert not torch.allclose(logits_black, model(idx, white)[0], atol=1e-3)


@pytest.mark.parametrize("mode,extra", [
    ("moves", {}), ("moves+board", {}),
    ("moves+board", {"move_head": "from-to", "board_features": "tactics"}),
    ("moves", {"move_head": "from-to"}), ("moves+board", {"move_head": "tactics"})])
def test_kv_cache_decoding_matches_full_forward(mode, extra):
    model = _model(mode, seed=1, **extra)
    B, T = 3, 17
    idx, boards = _random_inputs(B, T, seed=2)
    full, _ = model(idx, boards)
    cache = model.new_cache(B, 32, device="cpu", dtype=torch.float32)
    with torch.no_grad():
        parts = [model(idx[:, :5], boards[:, :5], cache=cache)[0]]  # prefill
        assert cache.length == 5
        for t in range(5, 10):  # one position at a time
            parts.append(model(idx[:, t:t + 1], boards[:, t:t + 1], cache=cache)[0])
        parts.append(model(idx[:, 10:], boards[:, 10:], cache=cache)[0])  # a chunk after a prefix
    assert cache.length == T
    assert torch.allclose(torch.cat(parts, 1), full, atol=1e-4)
    # reset: the cache is reusable from position 0
    cache.reset()
    again, _ = model(idx[:, :4], boards[:, :4], cache=cache)
    assert torch.allclose(again, full[:, :4], atol=1e-4)


def test_kv_cache_limits():
    model = _model("moves")
    with pytest.raises(ValueError, match="block_size"):
        model.new_cache(1, 65)
    cache = model.new_cache(1, 8)
    idx, _ = _random_inputs(1, 8)
    model(idx, cache=cache)
    with pytest.raises(ValueError, match="cache full"):
        model(idx[:, :1], cache=cache)


def test_presets_have_the_papers_sizes():
    with torch.device("meta"):
        n50 = GPT(GPTConfig(**PRESETS["50M"])).num_params(non_embedding=True)
        n302 = GPT(GPTConfig(**PRESETS["302M"])).num_params(non_embedding=True)
    assert 48e6 < n50 < 56e6
    assert 295e6 < n302 < 315e6
    assert GPTConfig(**PRESETS["small"]).input_mode == "moves+board"
    assert GPTConfig(**PRESETS["small-moves"]).input_mode == "moves"
    assert GPTConfig(**PRESETS["small"]).block_size == 512


def test_config_rejects_bad_values():
    with pytest.raises(ValueError):
        GPTConfig(input_mode="pixels")
    with pytest.raises(ValueError):
        GPTConfig(d_model=100, n_head=3)
    with pytest.raises(ValueError, match="moves\\+board"):
        GPTConfig(input_mode="moves", move_head="tactics")


def _saved(tmp_path, mode="moves+board"):
    model = _model(mode, seed=5)
    save_checkpoint(tmp_path / "run", model, None, {"step": 7})
    return model


def test_load_model_roundtrip_from_run_and_checkpoint_dir(tmp_path):
    model = _saved(tmp_path)
    idx, boards = _random_inputs(2, 9)
    ref, _ = model(idx, boards)
    for path in (tmp_path / "run", tmp_path / "run" / "ckpt-0000007"):
        loaded = load_model(path)
        assert loaded.config == model.config
        assert loaded.lm_head.weight is loaded.wte.weight  # still tied after loading
        assert torch.equal(loaded(idx, boards)[0], ref)


def test_load_model_errors(tmp_path):
    with pytest.raises(UserError, match="no such"):
        load_model(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="neither"):
        load_model(tmp_path / "empty")

    _saved(tmp_path)
    ckpt = tmp_path / "run" / "ckpt-0000007"
    meta = json.loads((ckpt / "model.json").read_text())

    (ckpt / "model.json").write_text(json.dumps({**meta, "tokenizer_version": 99}))
    with pytest.raises(UserError, match="tokenizer version"):
        load_model(ckpt)

    bad = {**meta, "config": {**meta["config"], "d_model": 64}}
    (ckpt / "model.json").write_text(json.dumps(bad))
    with pytest.raises(UserError, match="does not match"):
        load_model(ckpt)

    (ckpt / "model.json").write_text("{not json")
    with pytest.raises(UserError, match="corrupt"):
        load_model(ckpt)

    (ckpt / "model.json").write_text(json.dumps(meta))
    (ckpt / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(UserError, match="corrupt weights"):
        load_model(tmp_path / "run")


def test_bf16_autocast_forward_runs_and_agrees():
    model = _model("moves+board")
    idx, boards = _random_inputs(2, 12)
    ref, _ = model(idx, boards)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = model(idx, boards)
        cache = model.new_cache(2, 16, dtype=torch.bfloat16)
        step, _ = model(idx, boards, cache=cache)
    assert torch.allclose(out.float(), ref, atol=0.05)
    assert torch.allclose(step.float(), out.float(), atol=0.05)


def _real_boards(B: int, T: int, seed: int = 0):
    """Tokens and packed boards of random legal games (the legal-move loss needs real boards)."""
    import random

    import chess

    from chessformer.core.boards import encode_board

    rng = random.Random(seed)
    idx, boards = [], []
    for _ in range(B):
        board, toks, rows = chess.Board(), [tokenizer.BOS], [encode_board(chess.Board())]
        while len(toks) < T + 1:
            if board.is_game_over():
                board = chess.Board()
            move = rng.choice(list(board.legal_moves))
            board.push(move)
            toks.append(tokenizer.encode_move(move))
            rows.append(encode_board(board))
        idx.append(toks)
        boards.append(np.stack(rows))
    idx = torch.tensor(idx)
    return idx[:, :-1], torch.from_numpy(np.stack(boards)[:, :-1]), idx[:, 1:]


@pytest.mark.parametrize("mode", ["moves", "moves+board"])
def test_legal_only_loss_is_a_softmax_over_the_legal_moves(mode):
    """Masked with -inf (not multiplied): the loss equals cross-entropy over the pseudo-legal
    moves, is lower than over the whole vocabulary, and the returned logits are the loss's (the
    model's logits inside the mask, -inf outside)."""
    from chessformer.model.legal import legal_mask

    model = _model(mode, seed=2)
    idx, boards, targets = _real_boards(2, 24)
    full_logits, full = model(idx, boards, targets)
    logits, legal = model(idx, boards, targets, legal_only=True)
    mask = legal_mask(boards)  # the mover's frame
    black = ((boards[..., 112] >> 4) & 1).bool()
    mirror = torch.as_tensor(tokenizer.MIRROR)
    mask = torch.where(black[..., None], mask[..., mirror], mask)  # absolute tokens
    assert mask.gather(-1, targets.unsqueeze(-1)).all()  # every move played is in it
    assert torch.equal(logits, full_logits.masked_fill(~mask, float("-inf")))
    ref = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
    assert torch.allclose(legal, ref, atol=1e-5)
    assert legal < full - 1.0  # ~30 legal moves of 1,971: log(1971/30) ~ 4 nats at init
    legal.backward()
    assert model.wte.weight.grad.isfinite().all()


REAL_PGN = Path(__file__).resolve().parents[2] / "shared" / "data" / "lichess_2017-05_excerpt.pgn"


@pytest.fixture(scope="module")
def real_batch(tmp_path_factory):
    """(inputs, boards, targets) of 4 windows of 128 tokens of real games: the 2017 excerpt
    through ``ingest`` (skipped where ../shared/data is absent)."""
    if not REAL_PGN.exists():
        pytest.skip("../shared/data is absent")
    from chessformer.data.dataset import GameDataset
    from chessformer.data.ingest import ingest
    from chessformer.training.batches import build_windows, make_batch, sample_ids

    out = tmp_path_factory.mktemp("real") / "ds"
    ingest([str(REAL_PGN)], out, elo_cap=None, boards=True, limit=40, workers=0)
    ds = GameDataset.open(out)
    win = build_windows(ds.offsets, ds.split_indices("train"), 128)
    return [torch.from_numpy(a) for a in make_batch(ds, win, sample_ids(len(win), 0, 0, 4), 128,
                                                    True)]


def _full_tactics(self, logits, h, boards, mask):
    """What the tactics head computed before it scored only the mask's tokens."""
    return logits + self(h, boards)


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_tactics_head_scores_legal_moves_as_the_whole_head_does(real_batch, dtype, monkeypatch):
    """The legal-move softmax's head (scores on the mask's tokens only) against scoring every
    token, on real games: the same logits on the mask's tokens, the same loss and the same
    gradients, bit for bit, in fp32 and under bf16 autocast (the same operations on the tokens
    that count; the others get -inf and zero gradient either way); and the logits of a call
    without targets (validation, the arena, UCI) are the training's on the mask's tokens."""
    from chessformer.model.transformer import TacticsHead

    x, boards, y = real_batch
    model = GPT(GPTConfig(**PRESETS["tiny"], move_head="tactics")).train()
    autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bf16")  # noqa: E731

    def run():
        model.zero_grad(set_to_none=True)
        with autocast():
            logits, loss = model(x, boards, y, legal_only=True)
        loss.backward()
        return logits.detach(), loss.detach(), {k: p.grad.clone() for k, p in
                                                model.named_parameters()}

    logits, loss, grads = run()
    with monkeypatch.context() as m:
        m.setattr(TacticsHead, "add_at", _full_tactics)
        ref_logits, ref_loss, ref_grads = run()
    inside = torch.isfinite(logits)
    assert torch.equal(inside, torch.isfinite(ref_logits))
    assert 0.005 < inside.float().mean() < 0.1  # a few dozen tokens of 1,971
    assert torch.equal(logits[inside], ref_logits[inside]) and torch.equal(loss, ref_loss)
    assert all(torch.equal(grads[k], ref_grads[k]) for k in grads)
    assert grads["tactics.proj.weight"].abs().sum() > 0
    with torch.no_grad(), autocast():
        plain, _ = model(x, boards)
    assert torch.equal(plain[inside], logits[inside])
