"""A generic GPT, nanoGPT style: config, KV cache, attention, MLP, block, embedding and tied
unembedding. Nothing here knows about chess (it imports only torch): the chess model
(:mod:`chessformer.model.transformer`) builds on it, and so does the knowledge-graph testbed
(:mod:`chessformer.kg.train`) with its own vocabulary.

    >>> from chessformer.model.gpt import CoreConfig, GPTCore
    >>> model = GPTCore(CoreConfig(vocab_size=157, block_size=16, n_layer=2, n_head=2, d_model=32))
    >>> logits, loss = model(idx, targets)                           # doctest: +SKIP
    >>> cache = model.new_cache(batch_size=8, max_len=16)
    >>> logits, _ = model(next_idx, cache=cache)                     # doctest: +SKIP

Positions are learned absolute embeddings, ``0 .. block_size - 1``; position ``t`` predicts token
``t + 1``. Targets use ``ignore_index = -1`` (:data:`IGNORE`).

A subclass adds its own layers through two hooks that ``__init__`` calls in a fixed place:
:meth:`GPTCore.build_inputs` (after the embeddings) and :meth:`GPTCore.build_heads` (after the
output layer), so that the modules are created, and initialised, in one order whatever is added.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "IGNORE",
    "MLP",
    "Block",
    "CausalSelfAttention",
    "CoreConfig",
    "GPTCore",
    "KVCache",
    "ModelShape",
    "model_flops_per_token",
]

#: ``targets`` value that contributes no loss.
IGNORE = -1


class ModelShape(Protocol):
    """What the layers read of a config: :class:`CoreConfig` and the chess ``GPTConfig`` have it."""

    n_layer: int
    n_head: int
    d_model: int
    block_size: int
    vocab_size: int
    dropout: float
    bias: bool


@dataclass
class CoreConfig:
    """The shape of a :class:`GPTCore`: a vocabulary, a context length and the transformer."""

    #: rows of the (tied) token embedding and output layer
    vocab_size: int
    #: positions (the learned position table's rows)
    block_size: int
    n_layer: int = 6
    n_head: int = 6
    d_model: int = 384
    dropout: float = 0.0
    #: biases in Linear/LayerNorm: a little slower, no better (nanoGPT)
    bias: bool = False

    def __post_init__(self) -> None:
        if self.d_model % self.n_head:
            raise ValueError(f"d_model {self.d_model} is not a multiple of n_head {self.n_head}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CoreConfig:
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields {sorted(unknown)}")
        return cls(**d)


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
    def __init__(self, config: ModelShape) -> None:
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
    def __init__(self, config: ModelShape) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.d_model, 4 * config.d_model, bias=config.bias)
        self.c_proj = nn.Linear(4 * config.d_model, config.d_model, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-LN: normalise the input of each sublayer, keep the residual stream unnormalised."""

    def __init__(self, config: ModelShape) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.d_model, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.d_model, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, cache: KVCache | None, layer: int) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer)
        return x + self.mlp(self.ln_2(x))


class GPTCore(nn.Module):
    """Token + position embedding, ``n_layer`` blocks, a final LayerNorm and an output layer tied
    to the token embedding; next-token cross-entropy over the whole vocabulary."""

    def __init__(self, config: ModelShape) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.wte = nn.Embedding(config.vocab_size, d)
        self.wpe = nn.Embedding(config.block_size, d)
        self.build_inputs(config)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(d, bias=config.bias)
        self.lm_head = nn.Linear(d, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # tied: a token's input and output vectors are one
        self.build_heads(config)
        self.apply(self._init_weights)
        # GPT-2: scale the residual projections so the stream's variance does not grow with depth.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    def build_inputs(self, config: Any) -> None:
        """Hook: modules a subclass adds to the input (created after the embeddings)."""

    def build_heads(self, config: Any) -> None:
        """Hook: modules a subclass adds to the output (created after ``lm_head``)."""

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

    def check_positions(self, B: int, T: int, cache: KVCache | None) -> int:
        """The first position of a ``[B, T]`` input (``cache.length`` or 0), checked against the
        context and the cache."""
        start = cache.length if cache is not None else 0
        if start + T > self.config.block_size:
            raise ValueError(f"positions {start}..{start + T - 1} exceed block_size "
                             f"{self.config.block_size}")
        if cache is not None:
            if cache.length + T > cache.max_len:
                raise ValueError(f"cache full: {cache.length} + {T} > max_len {cache.max_len}")
            if cache.batch_size != B:
                raise ValueError(f"batch {B} != cache batch {cache.batch_size}")
        return start

    def embed(self, idx: torch.Tensor, start: int) -> torch.Tensor:
        """Token plus position embeddings of ``idx`` [B, T] at positions ``start ..``."""
        pos = torch.arange(start, start + idx.shape[1], device=idx.device)
        return self.wte(idx) + self.wpe(pos)

    def trunk(self, x: torch.Tensor, cache: KVCache | None) -> torch.Tensor:
        """The blocks and the final LayerNorm over embedded inputs ``x`` [B, T, d] (advances
        ``cache``)."""
        x = self.drop(x)
        for i, block in enumerate(self.h):
            x = block(x, cache, i)
        if cache is not None:
            cache.length += x.shape[1]
        return self.ln_f(x)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, *,
                cache: KVCache | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``idx`` [B, T] -> (logits [B, T, V], mean cross-entropy over ``targets`` [B, T] that
        are not :data:`IGNORE`, or None)."""
        start = self.check_positions(*idx.shape, cache)
        logits = self.lm_head(self.trunk(self.embed(idx, start), cache))
        loss = None
        if targets is not None:
            scores = logits.float()
            loss = F.cross_entropy(scores.view(-1, scores.size(-1)), targets.reshape(-1),
                                   ignore_index=IGNORE)
        return logits, loss

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


def model_flops_per_token(config: ModelShape, n_params: int, seq_len: int) -> float:
    """Training FLOPs per token (forward + backward): 6 N + attention (PaLM appendix B).

    ``N`` excludes the position table (a lookup, no multiply) but includes the tied head, which
    is a real matmul. Attention: 12 * layers * d_model * seq_len (causal halving not counted,
    as in nanoGPT's MFU so that figures compare).
    """
    n = n_params - config.block_size * config.d_model
    return 6 * n + 12 * config.n_layer * config.d_model * seq_len
