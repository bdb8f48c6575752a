"""The chess GPT: the generic :mod:`chessformer.model.gpt` plus the chess parts (the mover's frame,
the board input, the move heads, the legal-move softmax).

    >>> from chessformer.model.transformer import GPT, GPTConfig
    >>> from chessformer.model.presets import PRESETS
    >>> model = GPT(GPTConfig(**PRESETS["tiny"]))
    >>> logits, loss = model(idx, boards, targets)                    # doctest: +SKIP
    >>> cache = model.new_cache(batch_size=8, max_len=256, device="cpu", dtype=torch.float32)
    >>> logits, _ = model(next_idx, next_boards, cache=cache)        # doctest: +SKIP
    >>> model = chessformer.model.checkpoint.load_model("runs/demo")  # doctest: +SKIP

Two input modes, both autoregressive over move tokens (position ``t`` predicts token ``t + 1``):

``moves``
    The paper's setting: the model sees only the move sequence and must infer the board.
``moves+board``
    Each position's input is also the board after that move (``boards.encode_board``, packed at
    ingest), through one linear layer added to the token embedding. The model then works in the
    frame of the side to move: where Black is to move, the input token is mirrored
    (``tokenizer.MIRROR``) before embedding and the output logits are mirrored back, so "my move"
    looks the same for both colours and one set of weights serves both. Callers never see the
    mirrored frame: ``forward`` always returns logits over absolute tokens.

Positions are learned absolute embeddings, ``0 .. block_size - 1``. Training windows start at a
game start, or (for games longer than a window) at a later point of the game with positions
restarting at 0 (see :mod:`chessformer.training.batches`), so a caller that outgrows the
context may re-prefill the last ``block_size // 2`` tokens of a game at positions ``0 ..`` and go on.

Targets use ``ignore_index = -1`` (``IGNORE``): padding and positions whose prediction is not
trained are ``-1``. ``<pad>`` is an ordinary token id and is never ignored implicitly.

The presets live in :mod:`chessformer.model.presets`, checkpoint saving and loading in
:mod:`chessformer.model.checkpoint`; both are still importable from here.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from chessformer.core import tokenizer
from chessformer.core.boards import BOARD_BYTES, BOARD_FEATURES, unpack_boards
from chessformer.model.board import black_to_move
from chessformer.model.features import TACTIC_FEATURES, tactic_planes
from chessformer.model.gpt import IGNORE, GPTCore, KVCache, model_flops_per_token
from chessformer.model.legal import legal_mask, mask_tokens
from chessformer.model.move_features import N_MOVE_CLASSES, move_classes
from chessformer.model.presets import PRESET_TABLE, PRESETS, Preset

__all__ = ["BOARD_FEATURE_SETS", "GPT", "IGNORE", "INPUT_MODES", "MOVE_HEADS", "PRESETS",
           "PRESET_TABLE", "FromToHead", "GPTConfig", "KVCache", "Preset", "TacticsHead",
           "model_flops_per_token"]

INPUT_MODES = ("moves", "moves+board")
MOVE_HEADS = ("flat", "from-to", "tactics")
BOARD_FEATURE_SETS = ("basic", "tactics")
#: Moved to :mod:`chessformer.model.checkpoint`; still importable from here.
_LOADING = ("load_model", "load_state_dict_checked", "read_model_meta", "resolve_checkpoint_dir")


def __getattr__(name: str) -> Any:
    if name in _LOADING:
        from chessformer.model import checkpoint

        return getattr(checkpoint, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class GPTConfig:
    n_layer: int = 6
    n_head: int = 6
    d_model: int = 384
    block_size: int = 512
    vocab_size: int = tokenizer.VOCAB_SIZE
    dropout: float = 0.0
    input_mode: str = "moves"  # "moves" | "moves+board"
    bias: bool = False  # biases in Linear/LayerNorm: a little slower, no better (nanoGPT)
    #: "flat": one tied layer over the move vocabulary; "from-to": plus a low-rank from-square x
    #: to-square score per move (see ``FromToHead``); "tactics": plus a score per class of what
    #: the move does on the board (see ``TacticsHead``; needs ``moves+board``)
    move_head: str = "flat"
    #: "basic": the packed board's bits; "tactics": plus ``features.tactic_planes`` (moves+board)
    board_features: str = "basic"

    def __post_init__(self) -> None:
        if self.input_mode not in INPUT_MODES:
            raise ValueError(f"input_mode must be one of {INPUT_MODES}, got {self.input_mode!r}")
        if self.move_head not in MOVE_HEADS:
            raise ValueError(f"move_head must be one of {MOVE_HEADS}, got {self.move_head!r}")
        if self.move_head == "tactics" and not self.uses_boards:
            raise ValueError("move_head 'tactics' reads the board: it needs input_mode "
                             "'moves+board'")
        if self.board_features not in BOARD_FEATURE_SETS:
            raise ValueError(f"board_features must be one of {BOARD_FEATURE_SETS}, got "
                             f"{self.board_features!r}")
        if self.d_model % self.n_head:
            raise ValueError(f"d_model {self.d_model} is not a multiple of n_head {self.n_head}")

    @property
    def uses_boards(self) -> bool:
        return self.input_mode == "moves+board"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GPTConfig:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown GPTConfig fields {sorted(unknown)}")
        return cls(**d)


class FromToHead(nn.Module):
    """Leela-style structured move scores: each position's vector gives a query and a key of
    ``rank`` numbers per square; a move's score is query(from) . key(to) / sqrt(rank), added to
    the flat head's logit (promotions share their squares' score; specials get 0)."""

    def __init__(self, config: GPTConfig, rank: int = 16) -> None:
        super().__init__()
        self.rank = rank
        self.proj = nn.Linear(config.d_model, 2 * 64 * rank, bias=False)
        index = torch.full((config.vocab_size,), 64 * 64, dtype=torch.long)  # specials: the 0 pad
        for t in range(len(tokenizer.SPECIALS), config.vocab_size):
            uci = tokenizer.id_to_uci(t)
            f = (ord(uci[0]) - 97) + 8 * (int(uci[1]) - 1)
            to = (ord(uci[2]) - 97) + 8 * (int(uci[3]) - 1)
            index[t] = 64 * f + to
        self.register_buffer("index", index, persistent=False)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        B, T, _ = h.shape
        q, k = self.proj(h).view(B, T, 2, 64, self.rank).unbind(2)
        scores = (q @ k.transpose(-1, -2)).flatten(-2) / math.sqrt(self.rank)  # [B, T, 4096]
        scores = F.pad(scores, (0, 1))
        return scores[..., self.index]


class TacticsHead(nn.Module):
    """Scores for what a move does: each position's vector gives one number per move class
    (``move_features``: the piece moved, the piece taken, the cheapest enemy attacker of the
    to-square, defended, threatened, check), added to the flat head's logit of every move of that
    class. "Take the undefended queen" is learnt once, not once per move token.

    The legal-move softmax reads only a few dozen tokens per position: :meth:`add_at` scores
    only those (a training step with this head was 1.8x a flat one when it scored all 1,971)."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.proj = nn.Linear(config.d_model, N_MOVE_CLASSES, bias=True)

    def forward(self, h: torch.Tensor, boards: torch.Tensor,
                tokens: torch.Tensor | None = None) -> torch.Tensor:
        """[..., V] scores of every token, or [..., K] of ``tokens`` (long [..., K])."""
        if tokens is None:
            scores = F.pad(self.proj(h), (0, 1))  # class N_MOVE_CLASSES (special tokens) scores 0
            return torch.gather(scores, -1, move_classes(boards))
        # The same numbers without a padded copy of the [..., N_MOVE_CLASSES] scores.
        classes = move_classes(boards, tokens)
        special = classes == N_MOVE_CLASSES
        scores = torch.gather(self.proj(h), -1, classes.masked_fill(special, 0))
        return scores.masked_fill(special, 0.0)

    def add_at(self, logits: torch.Tensor, h: torch.Tensor, boards: torch.Tensor,
               mask: torch.Tensor) -> torch.Tensor:
        """``logits`` plus this head's scores on the tokens of ``mask`` (bool [..., V]); the
        other tokens keep ``logits``. On the tokens of ``mask`` the same numbers, bit for bit,
        as ``logits + self(h, boards)``, and in backward the same gradients (the other tokens'
        are 0 in a softmax that masks them)."""
        tokens = mask_tokens(mask)  # padded with a special token, which scores 0
        # In place: a fresh tensor (a head's output) that backward does not read.
        return logits.scatter_add_(-1, tokens, self(h, boards, tokens))


class GPT(GPTCore):
    """The chess model: :class:`GPTCore` with the board input, the mover's frame and the move
    heads of its :class:`GPTConfig` (module names, and so the checkpoint's tensor names, as
    before the split)."""

    config: GPTConfig

    def build_inputs(self, config: GPTConfig) -> None:
        n_board = BOARD_FEATURES + (TACTIC_FEATURES if config.board_features == "tactics" else 0)
        self.board_proj = nn.Linear(n_board, config.d_model, bias=True) if config.uses_boards \
            else None

    def build_heads(self, config: GPTConfig) -> None:
        self.from_to = FromToHead(config) if config.move_head == "from-to" else None
        self.tactics = TacticsHead(config) if config.move_head == "tactics" else None
        mirror = torch.arange(config.vocab_size)
        mirror[: len(tokenizer.MIRROR)] = torch.as_tensor(tokenizer.MIRROR)
        self.register_buffer("mirror", mirror, persistent=False)

    def forward(self, idx: torch.Tensor, boards: torch.Tensor | None = None,
                targets: torch.Tensor | None = None, *, cache: KVCache | None = None,
                legal_only: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``idx`` [B, T] -> (logits over absolute tokens [B, T, V], mean loss or None).

        ``boards`` [B, T, BOARD_BYTES] uint8 is required in ``moves+board`` mode (row ``t`` is the
        position after token ``t``) and ignored otherwise. ``targets`` [B, T]: ``-1`` is ignored.
        ``legal_only``: the loss is a softmax over the pseudo-legal moves of each position
        (``legal.legal_mask``; needs ``boards`` in either mode). With ``targets`` the returned
        logits are then the loss's: -inf outside that mask (the tactics head scores only the
        tokens inside it); without ``targets`` it changes nothing.
        """
        B, T = idx.shape
        start = self.check_positions(B, T, cache)
        black = None
        if self.config.uses_boards or legal_only:
            if boards is None or boards.shape != (B, T, BOARD_BYTES):
                raise ValueError(f"moves+board mode and legal_only need boards of shape "
                                 f"{(B, T, BOARD_BYTES)}, got "
                                 f"{None if boards is None else tuple(boards.shape)}")
        if self.config.uses_boards:
            black = black_to_move(boards)  # [B, T]
            idx = torch.where(black, self.mirror[idx], idx)  # the mover's frame
        x = self.embed(idx, start)
        if self.board_proj is not None:
            dtype = self.board_proj.weight.dtype
            feats = unpack_boards(boards, dtype=dtype)
            if self.config.board_features == "tactics":
                feats = torch.cat([feats, tactic_planes(boards, dtype)], -1)
            x = x + self.board_proj(feats)
        h = self.trunk(x, cache)
        rel_targets = mask = None
        if targets is not None:
            # The loss compares frame-relative logits with frame-relative targets: the same value
            # as the absolute comparison (MIRROR is a bijection), without a gather in backward.
            rel_targets = targets
            if black is not None:
                safe = targets.clamp_min(0)
                rel_targets = torch.where(black & (targets >= 0), self.mirror[safe], targets)
            if legal_only:
                mask = self._loss_mask(boards, rel_targets)
        logits = self.lm_head(h)  # in the mover's frame where black is set
        if self.from_to is not None:
            logits = logits + self.from_to(h)
        if self.tactics is not None:
            logits = (logits + self.tactics(h, boards) if mask is None
                      else self.tactics.add_at(logits, h, boards, mask))
        loss = None
        if targets is not None:
            if mask is not None:  # -inf is exact in bf16: the same scores as masking after .float()
                logits = logits.masked_fill_(~mask, float("-inf"))  # in place: nothing reads it
            scores = logits.float()
            loss = F.cross_entropy(scores.view(-1, scores.size(-1)), rel_targets.reshape(-1),
                                   ignore_index=IGNORE)
        if black is not None:
            logits = torch.where(black[..., None], logits[..., self.mirror], logits)
        return logits, loss

    def _loss_mask(self, boards: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Pseudo-legal moves in the frame of this model's logits, the target always included
        (a target outside the mask would make the loss infinite; real games never need it)."""
        mask = legal_mask(boards)  # the mover's frame
        if not self.config.uses_boards:  # a moves model's logits are absolute
            black = black_to_move(boards)
            mask = torch.where(black[..., None], mask[..., self.mirror], mask)
        return mask.scatter(-1, targets.clamp_min(0).unsqueeze(-1), True)
