"""A GPT over move tokens, nanoGPT style: config, attention, MLP, block, model, KV cache, loading.

    >>> from chessformer.model.transformer import GPT, GPTConfig, PRESETS
    >>> model = GPT(GPTConfig(**PRESETS["tiny"]))
    >>> logits, loss = model(idx, boards, targets)                    # doctest: +SKIP
    >>> cache = model.new_cache(batch_size=8, max_len=256, device="cpu", dtype=torch.float32)
    >>> logits, _ = model(next_idx, next_boards, cache=cache)        # doctest: +SKIP
    >>> model = load_model("runs/demo")                              # doctest: +SKIP

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
restarting at 0 (see :mod:`chessformer.training.batches`), so a caller that outgrows the context may re-prefill the last
``block_size // 2`` tokens of a game at positions ``0 ..`` and go on.

Targets use ``ignore_index = -1`` (``IGNORE``): padding and positions whose prediction is not
trained are ``-1``. ``<pad>`` is an ordinary token id and is never ignored implicitly.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from chessformer.core import tokenizer
from chessformer.core.boards import BOARD_BYTES, BOARD_FEATURES, BOARD_VERSION, unpack_boards
from chessformer.formats import checkpoint as ckpt_format
from chessformer.formats import run as run_format
from chessformer.model.features import TACTIC_FEATURES, tactic_planes
from chessformer.model.legal import legal_mask
from chessformer.model.move_features import N_MOVE_CLASSES, move_classes
from chessformer.utils import UserError

__all__ = ["GPT", "GPTConfig", "IGNORE", "KVCache", "PRESETS", "PRESET_TABLE", "Preset", "load_model",
           "load_state_dict_checked", "model_flops_per_token", "read_model_meta",
           "resolve_checkpoint_dir"]

#: ``targets`` value that contributes no loss.
IGNORE = -1
INPUT_MODES = ("moves", "moves+board")
MOVE_HEADS = ("flat", "from-to", "tactics")
BOARD_FEATURE_SETS = ("basic", "tactics")
#: Byte of a packed board row that holds the flags; bit 4 is "Black to move".
_FLAG_BYTE, _BLACK_BIT = 112, 4


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


@dataclass(frozen=True)
class Preset:
    """A named model size and the training defaults measured to suit it.

    ``model`` holds :class:`GPTConfig` fields; ``train`` overrides
    :class:`chessformer.training.options.TrainOptions` defaults (explicit options override both).
    """

    model: dict[str, Any]
    train: dict[str, Any] = field(default_factory=dict)


#: Small models take a higher lr and, on a CPU, small batches: at equal tokens, batch 4 x 512
#: reached val loss 3.60 where 16 x 512 was still at 5.37 (60 vs 240 updates).
_CPU_TRAINING = dict(batch_size=8, lr=1e-3, min_lr=1e-4)
#: The learner of every board-input preset unless told otherwise (``--move-head flat
#: --no-legal-softmax`` trains the plain one): the softmax over each position's pseudo-legal
#: moves and the ``tactics`` move head. On the demo's experts it transcended where the plain
#: learner did not (docs/results.md, "Learner options").
_BOARD_LEARNER = dict(legal_softmax=True, move_head="tactics")

#: The named presets, the one table of them. ``50M``/``302M`` are the paper's (``moves`` mode).
#: ``small`` is the CPU demo preset: measured on 554k tokens of Lichess games, it matched the
#: 6-layer/384 ``base`` per token (val loss 3.71 vs 3.60, legal argmax 82% vs 83%) at 2.1x its
#: speed, and on 2 CPU cores speed is what a 10-minute run buys. ``tiny`` trains in seconds, for
#: tests.
PRESET_TABLE: dict[str, Preset] = {
    "tiny": Preset(dict(n_layer=2, n_head=2, d_model=64, block_size=128, input_mode="moves+board"),
                   {**_CPU_TRAINING, **_BOARD_LEARNER}),
    "small": Preset(dict(n_layer=4, n_head=4, d_model=256, block_size=512,
                         input_mode="moves+board"), {**_CPU_TRAINING, **_BOARD_LEARNER}),
    "small-moves": Preset(dict(n_layer=4, n_head=4, d_model=256, block_size=512,
                               input_mode="moves"), _CPU_TRAINING),
    "base": Preset(dict(n_layer=6, n_head=6, d_model=384, block_size=512,
                        input_mode="moves+board"), {**_CPU_TRAINING, **_BOARD_LEARNER}),
    "50M": Preset(dict(n_layer=16, n_head=8, d_model=512, block_size=1024, input_mode="moves")),
    "302M": Preset(dict(n_layer=24, n_head=16, d_model=1024, block_size=1024, input_mode="moves")),
}
#: ``GPTConfig`` fields per preset name (the ``model`` half of :data:`PRESET_TABLE`).
PRESETS: dict[str, dict[str, Any]] = {name: p.model for name, p in PRESET_TABLE.items()}


class KVCache:
    """Keys and values of every layer for ``batch_size`` rows that advance in lockstep.

    A forward call with ``cache=`` writes its ``T`` positions at ``length .. length + T - 1`` for
    all rows and attends to everything before them; ``length`` then grows by ``T``.
    """

    def __init__(self, n_layer: int, batch_size: int, n_head: int, max_len: int, head_dim: int,
                 device: torch.device | str, dtype: torch.dtype) -> None:
        shape = (n_layer, batch_size, n_head, max_len, head_dim)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.max_len = max_len
        self.batch_size = batch_size
        self.length = 0

    def reset(self) -> None:
        self.length = 0  # stale entries beyond ``length`` are never attended to


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.head_dim = config.d_model // config.n_head
        self.c_attn = nn.Linear(config.d_model, 3 * config.d_model, bias=config.bias)
        self.c_proj = nn.Linear(config.d_model, config.d_model, bias=config.bias)
        self.dropout = config.dropout
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None, layer: int) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, self.head_dim).transpose(1, 2) for t in (q, k, v))
        dropout = self.dropout if self.training else 0.0
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True)
        else:
            start, end = cache.length, cache.length + T
            cache.k[layer, :, :, start:end] = k
            cache.v[layer, :, :, start:end] = v
            # A cache in another dtype than this forward's (fp32 cache, bf16 autocast) still works.
            k, v = cache.k[layer, :, :, :end].to(q.dtype), cache.v[layer, :, :, :end].to(q.dtype)
            if T == 1:  # one new position sees the whole prefix: no mask needed
                y = F.scaled_dot_product_attention(q, k, v)
            elif start == 0:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:  # T new positions after a prefix: causal among themselves, all of the prefix
                qpos = torch.arange(start, end, device=x.device)
                mask = torch.arange(end, device=x.device)[None, :] <= qpos[:, None]
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.d_model, 4 * config.d_model, bias=config.bias)
        self.c_proj = nn.Linear(4 * config.d_model, config.d_model, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-LN: normalise the input of each sublayer, keep the residual stream unnormalised."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.d_model, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.d_model, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, cache: KVCache | None, layer: int) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer)
        return x + self.mlp(self.ln_2(x))


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
    class. "Take the undefended queen" is learnt once, not once per move token."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.proj = nn.Linear(config.d_model, N_MOVE_CLASSES, bias=True)

    def forward(self, h: torch.Tensor, boards: torch.Tensor) -> torch.Tensor:
        scores = F.pad(self.proj(h), (0, 1))  # class N_MOVE_CLASSES (special tokens) scores 0
        return torch.gather(scores, -1, move_classes(boards))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.wte = nn.Embedding(config.vocab_size, d)
        self.wpe = nn.Embedding(config.block_size, d)
        n_board = BOARD_FEATURES + (TACTIC_FEATURES if config.board_features == "tactics" else 0)
        self.board_proj = nn.Linear(n_board, d, bias=True) if config.uses_boards else None
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(d, bias=config.bias)
        self.lm_head = nn.Linear(d, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # tied: a move's input and output vectors are one
        self.from_to = FromToHead(config) if config.move_head == "from-to" else None
        self.tactics = TacticsHead(config) if config.move_head == "tactics" else None
        mirror = torch.arange(config.vocab_size)
        mirror[: len(tokenizer.MIRROR)] = torch.as_tensor(tokenizer.MIRROR)
        self.register_buffer("mirror", mirror, persistent=False)
        self.apply(self._init_weights)
        # GPT-2: scale the residual projections so the stream's variance does not grow with depth.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        # N(0, 0.02) everywhere: N(0, 1) embeddings with a tied head gave a first loss near 76
        # and denormals that made fp32 7x slower (measured; the notes are not in this repository).
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)

    def num_params(self, non_embedding: bool = False) -> int:
        n = sum(p.numel() for p in self.parameters())
        return n - self.wpe.weight.numel() if non_embedding else n

    def new_cache(self, batch_size: int, max_len: int, device: torch.device | str | None = None,
                  dtype: torch.dtype | None = None) -> KVCache:
        """An empty cache for ``batch_size`` rows and up to ``max_len <= block_size`` positions."""
        if max_len > self.config.block_size:
            raise ValueError(f"max_len {max_len} > block_size {self.config.block_size}")
        c = self.config
        ref = self.wte.weight
        return KVCache(c.n_layer, batch_size, c.n_head, max_len, c.d_model // c.n_head,
                       device if device is not None else ref.device,
                       dtype if dtype is not None else ref.dtype)

    def forward(self, idx: torch.Tensor, boards: torch.Tensor | None = None,
                targets: torch.Tensor | None = None, *, cache: KVCache | None = None,
                legal_only: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``idx`` [B, T] -> (logits over absolute tokens [B, T, V], mean loss or None).

        ``boards`` [B, T, BOARD_BYTES] uint8 is required in ``moves+board`` mode (row ``t`` is the
        position after token ``t``) and ignored otherwise. ``targets`` [B, T]: ``-1`` is ignored.
        ``legal_only``: the loss is a softmax over the pseudo-legal moves of each position
        (``legal.legal_mask``; needs ``boards`` in either mode); other logits are set to -inf
        in the loss only, the returned logits are unmasked.
        """
        B, T = idx.shape
        start = cache.length if cache is not None else 0
        if start + T > self.config.block_size:
            raise ValueError(f"positions {start}..{start + T - 1} exceed block_size "
                             f"{self.config.block_size}")
        if cache is not None:
            if cache.length + T > cache.max_len:
                raise ValueError(f"cache full: {cache.length} + {T} > max_len {cache.max_len}")
            if cache.batch_size != B:
                raise ValueError(f"batch {B} != cache batch {cache.batch_size}")
        black = None
        if self.config.uses_boards or legal_only:
            if boards is None or boards.shape != (B, T, BOARD_BYTES):
                raise ValueError(f"moves+board mode and legal_only need boards of shape "
                                 f"{(B, T, BOARD_BYTES)}, got "
                                 f"{None if boards is None else tuple(boards.shape)}")
        if self.config.uses_boards:
            black = ((boards[..., _FLAG_BYTE] >> _BLACK_BIT) & 1).bool()  # [B, T]
            idx = torch.where(black, self.mirror[idx], idx)  # the mover's frame
        pos = torch.arange(start, start + T, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        if self.board_proj is not None:
            dtype = self.board_proj.weight.dtype
            feats = unpack_boards(boards, dtype=dtype)
            if self.config.board_features == "tactics":
                feats = torch.cat([feats, tactic_planes(boards, dtype)], -1)
            x = x + self.board_proj(feats)
        x = self.drop(x)
        for i, block in enumerate(self.h):
            x = block(x, cache, i)
        if cache is not None:
            cache.length += T
        h = self.ln_f(x)
        logits = self.lm_head(h)  # in the mover's frame where black is set
        if self.from_to is not None:
            logits = logits + self.from_to(h)
        if self.tactics is not None:
            logits = logits + self.tactics(h, boards)
        loss = None
        if targets is not None:
            # The loss compares frame-relative logits with frame-relative targets: the same value
            # as the absolute comparison (MIRROR is a bijection), without a gather in backward.
            rel_targets = targets
            if black is not None:
                safe = targets.clamp_min(0)
                rel_targets = torch.where(black & (targets >= 0), self.mirror[safe], targets)
            scores = logits.float()
            if legal_only:
                scores = scores.masked_fill(~self._loss_mask(boards, rel_targets), float("-inf"))
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
            black = ((boards[..., _FLAG_BYTE] >> _BLACK_BIT) & 1).bool()
            mask = torch.where(black[..., None], mask[..., self.mirror], mask)
        return mask.scatter(-1, targets.clamp_min(0).unsqueeze(-1), True)

    def configure_optimizer(self, weight_decay: float, lr: float, betas: tuple[float, float],
                            fused: bool | None = None) -> torch.optim.AdamW:
        """AdamW with decay on matrices only (not on norms, biases)."""
        params = [p for p in self.parameters() if p.requires_grad]
        decay = [p for p in params if p.dim() >= 2]
        no_decay = [p for p in params if p.dim() < 2]
        groups = [{"params": decay, "weight_decay": weight_decay},
                  {"params": no_decay, "weight_decay": 0.0}]
        kwargs: dict[str, Any] = {}
        if fused is not None:
            kwargs["fused"] = fused
        return torch.optim.AdamW(groups, lr=lr, betas=betas, **kwargs)


def model_flops_per_token(config: GPTConfig, n_params: int, seq_len: int) -> float:
    """Training FLOPs per token (forward + backward): 6 N + attention (PaLM appendix B).

    ``N`` excludes the position table (a lookup, no multiply) but includes the tied head, which
    is a real matmul. Attention: 12 * layers * d_model * seq_len (causal halving not counted,
    as in nanoGPT's MFU so that figures compare).
    """
    n = n_params - config.block_size * config.d_model
    return 6 * n + 12 * config.n_layer * config.d_model * seq_len


# ---------------------------------------------------------------------------------------------
# Loading: safetensors weights + JSON, never pickle. The writer lives in checkpoint.py.

def resolve_checkpoint_dir(path: str | Path) -> Path:
    """A run dir (follows ``RUN/latest``) or a checkpoint dir (holds ``model.safetensors``)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such run or checkpoint directory")
    if ckpt_format.is_checkpoint(path):
        return path
    name = run_format.read_latest(path)
    if name is not None:
        ckpt = path / name
        if not name or not ckpt_format.is_checkpoint(ckpt):
            raise UserError(f"{path / run_format.LATEST} points at {name!r}, which is not a "
                            f"complete checkpoint")
        return ckpt
    raise UserError(f"{path} is neither a run directory (no 'latest' file) nor a checkpoint "
                    f"directory (no model.safetensors); train one with `chessformer train`")


def read_model_meta(ckpt: Path) -> dict[str, Any]:
    """``ckpt/model.json`` with ``config`` as a :class:`GPTConfig`, checked against this
    chessformer's tokenizer and board encoding (one-line ``UserError`` otherwise)."""
    meta_path = ckpt / ckpt_format.META
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        config = GPTConfig.from_dict(meta["config"])
    except FileNotFoundError:
        raise UserError(f"{meta_path}: missing (incomplete checkpoint)") from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise UserError(f"{meta_path}: corrupt or unreadable model description ({e})") from None
    if meta.get("tokenizer_version") != tokenizer.TOKENIZER_VERSION:
        raise UserError(f"{ckpt}: trained with tokenizer version {meta.get('tokenizer_version')}, "
                        f"this chessformer has {tokenizer.TOKENIZER_VERSION}")
    if config.uses_boards and meta.get("board_version") != BOARD_VERSION:
        raise UserError(f"{ckpt}: trained with board encoding {meta.get('board_version')}, "
                        f"this chessformer has {BOARD_VERSION}")
    if config.vocab_size != tokenizer.VOCAB_SIZE:
        raise UserError(f"{ckpt}: vocab size {config.vocab_size} != {tokenizer.VOCAB_SIZE}")
    meta["config"] = config
    return meta


def load_state_dict_checked(model: GPT, ckpt: Path, device: torch.device | str = "cpu") -> None:
    """Load ``ckpt/model.safetensors`` into ``model``; a missing, extra or misshapen tensor is a
    ``UserError`` naming the file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights_path = ckpt / ckpt_format.WEIGHTS
    try:
        state = load_file(str(weights_path), device=str(device))
    except (SafetensorError, OSError, RuntimeError, ValueError) as e:
        raise UserError(f"{weights_path}: corrupt weights file ({e})") from None
    state.setdefault("lm_head.weight", state.get("wte.weight"))  # tied: stored once
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    bad = [k for k in expected if k in state and state[k] is not None
           and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or bad:
        raise UserError(f"{weights_path} does not match its model.json config: missing "
                        f"{missing[:5]}, unexpected {unexpected[:5]}, wrong shape {bad[:5]}")
    model.load_state_dict(state)


def load_model(path: str | Path, device: torch.device | str = "cpu") -> GPT:
    """The model of a run dir or checkpoint dir, in eval mode on ``device`` (fp32 weights)."""
    ckpt = resolve_checkpoint_dir(path)
    meta = read_model_meta(ckpt)
    model = GPT(meta["config"])
    load_state_dict_checked(model, ckpt, device="cpu")
    return model.to(device).eval()
