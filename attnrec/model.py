"""`Recommender`: encoders → `attend` (H heads, tied or untied) → S → calibrated probability σ(a·S + b).

The contract is docs/architecture.md. The model carries its catalog (the attached dataset, encoded by
its featurizer) so pages can ask "score this user against everything" without re-encoding anything.
Explanations see it only through `forward(r_u, r_v)` (raw columns → S) or `attention(x, y).s`.
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from torch import nn

from attnrec.attention import NORMALIZERS, AttentionTrace, attend, attention_scores
from attnrec.config_schema import MODEL_KEYS, MODEL_OPTIONS
from attnrec.encoders import make_encoder

if TYPE_CHECKING:  # annotations only: importing attnrec.data at run time would load its loaders too
    from attnrec.data.featurize import Featurizer
    from attnrec.data.types import Dataset, SideEncoding

# One id or several (a list, an Index, an array): `_as_id_list` turns either into a list of str.
Ids = str | int | np.integer | Iterable[str]

__all__ = ["PairTrace", "Recommender", "MODEL_KEYS", "MODEL_OPTIONS", "NULL_SLOT_NAME", "rank_span", "variant_label"]

NULL_SLOT_NAME = "(nothing: null slot)"
CATALOG_CHUNK = 65_536  # catalog rows encoded at once (a catalog up to this size is encoded in one go)


@dataclass(frozen=True)
class PairTrace:
    """Everything about one (user, item) score: the attention trace plus where its inputs came from."""

    trace: AttentionTrace  # batch of one: tensors (1, H, d), s (1,)
    x: torch.Tensor  # (d,) encoded user
    y: torch.Tensor  # (d,) encoded item
    r_u: torch.Tensor  # (R_u,) raw user columns
    r_v: torch.Tensor  # (R_v,) raw item columns
    dimension_names: list[str]
    user_id: str
    item_id: str
    s: float
    probability: float
    rank: int  # 1-based among all catalog items for this user (ties resolved in its favour)
    ties: int = 0  # other catalog items with exactly this S: the pair shares ranks rank … rank + ties

    def rank_span(self) -> str:
        """The ranks the pair holds (`rank_span`)."""
        return rank_span(self.rank, self.ties)

    def rank_text(self, n_items: int) -> str:
        """`rank_span` of `n_items`: "4 of 130", "86–130 of 130"."""
        return f"{self.rank_span()} of {n_items}"


def rank_span(rank: int, ties: int) -> str:
    """The ranks a pair holds: "4", or "86–130" when `ties` other items score exactly its S (S = 0 under the null
    slot, say): the pair shares all those places."""
    return f"{rank}–{rank + ties}" if ties else str(rank)


# Each attention normaliser's name in words, as the dashboard and reports write it.
NORMALIZER_WORDS = {"softmax": "softmax", "sparsemax": "sparsemax", "entmax15": "1.5-entmax"}


def variant_label(config: dict) -> str:
    """One line naming a model's attention variant, for the dashboard and reports."""
    options = {k: config.get(k, default) for k, default in MODEL_OPTIONS.items()}
    words = NORMALIZER_WORDS[options["attention"]]
    parts = [words + (" (the design document's)" if options["attention"] == "softmax" else "")]
    if options["presence_mask"]:
        parts.append("presence mask")
    if options["null_slot"]:
        parts.append("null slot")
    if options["prune"]:
        parts.append("prunable dimensions")
    if options["latent_dims"]:
        parts.append(
            f"{options['latent_dims']} taste dimensions from ids"
            + (", weighed as one block" if options["taste_block"] else "")
        )
    return " · ".join(parts)


def _as_id_list(ids: Ids) -> list[str]:
    if isinstance(ids, (str, int, np.integer)):
        return [str(ids)]
    return [str(i) for i in ids]


def _small_random(*shape: int) -> torch.Tensor:
    """0.1 · N(0, 1) of `shape`. On the "meta" device (checkpoint.expected_shapes builds a model there for its
    shapes alone) only the shape: random numbers and arithmetic on meta tensors run torch's Python reference
    kernels, whose first call imports torch._refs and torch._dynamo — about 2 s of CPU on the app's cold start."""
    empty = torch.empty(*shape)  # the device in effect (torch.empty is a plain kernel on every device)
    return empty if empty.device.type == "meta" else 0.1 * torch.randn(*shape)


class _ScoresMemo:
    """The last users' catalog scores, newest last: at most `entries` of them and `max_bytes` in all (one
    user's scores over a catalog larger than that are not kept).

    An entry is found by its key and taken only while the very tensors it was computed from are still the
    model's (weak references, checked by identity): a model copied with its plain state shared (explanations'
    and sanity checks' copies) never takes a score of another whose tensors happened to live at the same
    address. Shared by the sessions that share a model, hence the lock; a kept tensor is never handed out."""

    def __init__(self, entries: int = 8, max_bytes: int = 64 * 2**20) -> None:
        self.entries, self.max_bytes = entries, max_bytes
        self._kept: OrderedDict[tuple[object, ...], tuple[tuple[weakref.ref, ...], torch.Tensor]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...], sources: tuple[torch.Tensor, ...]) -> torch.Tensor | None:
        with self._lock:
            entry = self._kept.get(key)
            if entry is None:
                return None
            refs, scores = entry
            if len(refs) != len(sources) or any(ref() is not t for ref, t in zip(refs, sources)):
                del self._kept[key]
                return None
            self._kept.move_to_end(key)
            return scores

    def put(self, key: tuple[object, ...], sources: tuple[torch.Tensor, ...], scores: torch.Tensor) -> None:
        if scores.element_size() * scores.nelement() > self.max_bytes:
            return
        with self._lock:
            self._kept[key] = (tuple(weakref.ref(t) for t in sources), scores)
            self._kept.move_to_end(key)
            while len(self._kept) > self.entries or self._bytes() > self.max_bytes:
                self._kept.popitem(last=False)

    def _bytes(self) -> int:
        return sum(t.element_size() * t.nelement() for _, t in self._kept.values())

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)


class Recommender(nn.Module):
    """Aligned or latent attention recommender over an attached catalog."""

    # Non-persistent buffers registered by `attach` (nn.Module's __getattr__ would type them Tensor | Module).
    user_matrix: torch.Tensor
    item_matrix: torch.Tensor

    def __init__(self, config: dict, featurizer: Featurizer, dataset: Dataset | None = None):
        super().__init__()
        missing = [k for k in MODEL_KEYS if k not in config]
        if missing:
            raise ValueError(f"model config lacks {', '.join(missing)}")
        self.config = copy.deepcopy(config)
        self.featurizer = featurizer
        self.mode: str = config["mode"]
        self.d: int = int(config["d"])
        self.heads: int = int(config["heads"])
        self.tied: bool = bool(config["tied"])
        self.temperature: float = float(config["temperature"])
        if self.heads < 1 or self.d < 1 or not self.temperature > 0:
            raise ValueError(
                f"need heads ≥ 1, d ≥ 1 and temperature > 0, got {self.heads}, {self.d}, {self.temperature}"
            )
        hidden = int(config["hidden"])
        options = {k: config.get(k, default) for k, default in MODEL_OPTIONS.items()}
        self.normalizer = str(options["attention"])
        self.presence_mask = bool(options["presence_mask"])
        self.null_slot = bool(options["null_slot"])
        self.latent_dims = int(options["latent_dims"])
        self.taste_block = bool(options["taste_block"]) and self.latent_dims > 0
        if self.normalizer not in NORMALIZERS:
            raise ValueError(f"attention must be one of {', '.join(NORMALIZERS)}, got {self.normalizer!r}")
        if self.presence_mask and not self.null_slot:
            raise ValueError("presence_mask needs null_slot (a row whose every X_i·Y_i is 0 must attend somewhere)")
        if self.latent_dims and self.mode != "aligned":
            raise ValueError("latent_dims applies to aligned mode (latent mode's dimensions are all learned)")
        encoded = self.d - int(self.null_slot)  # what the encoders produce; the null slot is appended
        named = encoded - self.latent_dims
        if encoded < 1 or named < (1 if self.mode == "aligned" else 0) or self.latent_dims < 0:
            raise ValueError(
                f"d={self.d} leaves no room for {self.latent_dims} taste dimensions"
                f"{' and the null slot' if self.null_slot else ''}"
            )
        self.user_encoder, self.item_encoder = (
            make_encoder(
                self.mode,
                int(config[key]),
                encoded,
                hidden,
                offset=bool(options["encoder_offset"]),
                latent_dims=self.latent_dims,
                prune=bool(options["prune"]),
                taste_scale=self.latent_dims if self.taste_block else 1.0,
                id_columns=int(config[key]) - named if self.mode == "aligned" and self.latent_dims else 0,
            )
            for key in ("user_columns", "item_columns")
        )
        # Small random W: W = 0 would be uniform attention (a scaled dot product), identical heads.
        self.w_u = nn.Parameter(_small_random(self.heads, self.d, self.d))
        self.w_v: nn.Parameter | None = None if self.tied else nn.Parameter(_small_random(self.heads, self.d, self.d))
        # Calibration σ(a·S + b): learned with BCE, refit on validation pairs at the end of training.
        # a starts at d²/H because near-uniform softmax attention weighs each X_i·Y_i by only H/d²; without it
        # the logits would start ~100× too small and training would crawl. Sparse or masked attention and a
        # taste block put weights of order one on few terms: there a starts at 1/H.
        concentrated = self.normalizer != "softmax" or self.presence_mask or self.taste_block
        self.calibration = nn.Parameter(
            torch.tensor([1.0 / self.heads if concentrated else self.d**2 / self.heads, 0.0])
        )
        if self.mode == "aligned":
            names = list(getattr(featurizer, "dimension_names", None) or [])
            if len(names) != named:
                raise ValueError(f"aligned featurizer names {len(names)} dimensions but the model has {named}")
            self.dimension_names = names + [f"taste {i + 1}" for i in range(self.latent_dims)]
        else:
            self.dimension_names = [f"latent {i + 1}" for i in range(encoded)]
        if self.null_slot:
            self.dimension_names.append(NULL_SLOT_NAME)
        self._dataset: Dataset | None = None
        self.users: SideEncoding | None = None
        self.items: SideEncoding | None = None
        self._item_cache: tuple[tuple[object, ...], torch.Tensor] | None = None
        self._user_scores = _ScoresMemo()
        if dataset is not None:
            self.attach(dataset)
        self.eval()

    @classmethod
    def from_featurizer(
        cls,
        featurizer: Featurizer,
        dataset: Dataset | None = None,
        *,
        d: int | None = None,
        heads: int = 2,
        tied: bool = False,
        temperature: float = 1.0,
        hidden: int = 0,
        attention: str = "softmax",
        presence_mask: bool = False,
        null_slot: bool = False,
        latent_dims: int = 0,
        encoder_offset: bool = False,
        taste_block: bool = False,
        prune: bool = False,
    ) -> "Recommender":
        """A freshly initialised model whose shapes follow the featurizer's columns.

        d: latent mode's learned dimensions (aligned: the named dimensions + `latent_dims`); the null slot,
        when asked for, comes on top."""
        mode = featurizer.mode
        user_columns, item_columns = len(featurizer.columns("user")), len(featurizer.columns("item"))
        if mode == "aligned":
            d = len(featurizer.dimension_names or []) + int(latent_dims)
        elif d is None:
            raise ValueError("latent mode needs d")
        config = {
            "mode": mode,
            "d": int(d) + int(bool(null_slot)),
            "heads": int(heads),
            "tied": bool(tied),
            "temperature": float(temperature),
            "hidden": int(hidden) if mode == "latent" else 0,
            "user_columns": user_columns,
            "item_columns": item_columns,
            "use_ids": bool(getattr(featurizer, "use_ids", False)),
            "attention": attention,
            "presence_mask": bool(presence_mask),
            "null_slot": bool(null_slot),
            "latent_dims": int(latent_dims),
            "encoder_offset": bool(encoder_offset),
            "taste_block": bool(taste_block),
            "prune": bool(prune),
        }
        return cls(config, featurizer, dataset)

    # ---- the catalog -------------------------------------------------------------------------
    @property
    def dataset(self) -> Dataset | None:
        return self._dataset

    @property
    def attached_dataset(self) -> Dataset:
        """The attached dataset, for code that needs one: a clear ValueError when there is none."""
        if self._dataset is None:
            raise ValueError("this model has no dataset attached; pass one to load() or call attach()")
        return self._dataset

    def attach(self, dataset: Dataset) -> None:
        """Encode `dataset`'s users and items with the featurizer and make them this model's catalog."""
        self._user_scores.clear()
        users = self.users = self.featurizer.encode("user", dataset.users)
        items = self.items = self.featurizer.encode("item", dataset.items)
        for side, enc, key in (("user", users, "user_columns"), ("item", items, "item_columns")):
            if enc.matrix.shape[1] != int(self.config[key]):
                raise ValueError(
                    f"the featurizer encodes {enc.matrix.shape[1]} {side} columns but the model "
                    f"expects {self.config[key]}"
                )
        device = self.w_u.device
        # Non-persistent buffers: they follow .to(device) but never enter the checkpoint.
        self.register_buffer(
            "user_matrix", torch.tensor(users.matrix, dtype=torch.float32, device=device), persistent=False
        )
        self.register_buffer(
            "item_matrix", torch.tensor(items.matrix, dtype=torch.float32, device=device), persistent=False
        )
        # What each user interacted with, as sorted catalog item rows per catalog user row (CSR arrays:
        # vectorised, no Python object per interaction, whatever the number of interactions).
        user_rows = pd.Index(users.ids).get_indexer(dataset.interactions["user_id"].astype(str))
        item_rows = pd.Index(items.ids).get_indexer(dataset.interactions["item_id"].astype(str))
        known = (user_rows >= 0) & (item_rows >= 0)
        keys = np.unique(user_rows[known].astype(np.int64) * len(items.ids) + item_rows[known])
        self._seen_start = np.concatenate(
            [[0], np.cumsum(np.bincount(keys // len(items.ids), minlength=len(users.ids)))]
        )
        self._seen_rows = keys % len(items.ids)
        self._dataset = dataset
        self._item_cache = None

    @property
    def item_ids(self) -> list[str]:
        return self._catalog()[1].ids

    @property
    def user_ids(self) -> list[str]:
        return self._catalog()[0].ids

    @property
    def user_encoding(self) -> SideEncoding:
        """The attached catalog's encoded users (`users`), or a clear ValueError without a catalog."""
        return self._catalog()[0]

    @property
    def item_encoding(self) -> SideEncoding:
        """The attached catalog's encoded items (`items`), or a clear ValueError without a catalog."""
        return self._catalog()[1]

    def _catalog(self) -> tuple[SideEncoding, SideEncoding]:
        """(users, items) of the attached catalog; a clear error when there is none."""
        if self._dataset is None or self.users is None or self.items is None:
            raise ValueError("this model has no dataset attached; pass one to load() or call attach()")
        return self.users, self.items

    def user_rows(self, user_ids: Ids) -> torch.Tensor:
        users = self._catalog()[0]
        rows = [users.row_of(u) for u in _as_id_list(user_ids)]
        return self.user_matrix[rows]

    def item_rows(self, item_ids: Ids) -> torch.Tensor:
        items = self._catalog()[1]
        rows = [items.row_of(i) for i in _as_id_list(item_ids)]
        return self.item_matrix[rows]

    # ---- the math ----------------------------------------------------------------------------
    def _with_null(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, x.new_zeros(*x.shape[:-1], 1)], dim=-1) if self.null_slot else x

    def encode_user(self, r_u: torch.Tensor) -> torch.Tensor:
        return self._with_null(self.user_encoder(r_u))

    def encode_item(self, r_v: torch.Tensor) -> torch.Tensor:
        return self._with_null(self.item_encoder(r_v))

    def l2_terms(self, x: torch.Tensor) -> torch.Tensor:
        """|X|² per row as training's L2 term sees it: taste dimensions before their constant scale."""
        if not self.taste_block:
            return x.square().sum(-1)
        block = self.taste_dimensions
        scaled = x[..., block] / float(self.latent_dims)
        return x[..., : block.start].square().sum(-1) + scaled.square().sum(-1) + x[..., block.stop :].square().sum(-1)

    def attention_mask(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
        """(B, d) bool, True = may be attended: with the presence mask, dimensions with X_i·Y_i ≠ 0 and the
        null slot; None when the model attends everywhere."""
        if not self.presence_mask:
            return None
        x, y = torch.broadcast_tensors(x if x.dim() == 2 else x.unsqueeze(0), y if y.dim() == 2 else y.unsqueeze(0))
        mask = (x * y) != 0
        mask[:, -1] = True  # the null slot (presence_mask needs one)
        return mask

    def null_slot_reason(self, a_u: torch.Tensor, a_v: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> str | None:
        """Why one pair's S is 0 by the null slot, or None when it is not: every head of both sides (A_U, A_V:
        heads × d) puts its whole weight on the null slot. "nothing shared": the presence mask leaves attention
        nothing else (no dimension has X_i·Y_i ≠ 0); "not weighed": the sparse normaliser gives what is shared
        no weight."""
        if not self.null_slot or bool((a_u[..., :-1] != 0).any()) or bool((a_v[..., :-1] != 0).any()):
            return None
        mask = self.attention_mask(x, y)
        return "nothing shared" if mask is not None and not bool(mask[:, :-1].any()) else "not weighed"

    @property
    def taste_dimensions(self) -> slice:
        """Where the learned taste dimensions sit among the d (empty slice when there are none)."""
        stop = self.d - int(self.null_slot)
        return slice(stop - self.latent_dims, stop)

    def attention_units(self) -> list[list[int]]:
        """The dimensions attention weighs as one: each dimension alone, except the taste block (one logit
        shared by its dimensions) when `taste_block` is on. The null slot, if any, is the last unit."""
        if not self.taste_block:
            return [[i] for i in range(self.d)]
        block = self.taste_dimensions
        return (
            [[i] for i in range(block.start)]
            + [list(range(block.start, block.stop))]
            + [[i] for i in range(block.stop, self.d)]
        )

    def unit_names(self) -> list[str]:
        names = self.dimension_names
        return [names[u[0]] if len(u) == 1 else f"taste (block of {len(u)})" for u in self.attention_units()]

    def _effective(self, w: torch.Tensor) -> torch.Tensor:
        """W as attention uses it: with `taste_block`, the taste dimensions' rows replaced by their mean, so
        every taste dimension gets the same logit (hence the same weight) in every head."""
        if not self.taste_block:
            return w
        block = self.taste_dimensions
        shared = w[:, block].mean(dim=1, keepdim=True).expand(-1, self.latent_dims, -1)
        return torch.cat([w[:, : block.start], shared, w[:, block.stop :]], dim=1)

    def attention_weights(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(W_U, W_V) exactly as `attend` receives them."""
        return self._effective(self.w_u), None if self.w_v is None else self._effective(self.w_v)

    def attention(self, x: torch.Tensor, y: torch.Tensor) -> AttentionTrace:
        w_u, w_v = self.attention_weights()
        return attend(x, y, w_u, w_v, self.temperature, normalizer=self.normalizer, mask=self.attention_mask(x, y))

    @property
    def variant(self) -> str:
        """The attention variant in words, e.g. "softmax (the design document's)"; see `variant_label`."""
        return variant_label(self.config)

    def forward(self, r_u: torch.Tensor, r_v: torch.Tensor) -> torch.Tensor:
        """S (B,) from raw columns (B, R_u), (B, R_v): the plain function explanations use."""
        return self.attention(self.encode_user(r_u), self.encode_item(r_v)).s

    def probability(self, s: torch.Tensor) -> torch.Tensor:
        a, b = self.calibration[0], self.calibration[1]
        return torch.sigmoid(a * s + b)

    # ---- questions pages ask -----------------------------------------------------------------
    def _catalog_y(self) -> torch.Tensor:
        # Re-encode the catalog only when a weight changed (optimizer steps bump tensor versions).
        key = (self.user_matrix.device, tuple(p._version for p in self.item_encoder.parameters()), self.training)
        if self._item_cache is None or self._item_cache[0] != key:
            with torch.no_grad():  # in chunks: a hidden layer never holds (catalog, hidden) at once
                rows = self.item_matrix
                # Kept item-last, (d, N), and handed out as its (N, d) view .T: `attention_scores` then scores
                # contiguous (d, chunk) slices with no transpose (benchmarks/attend.py measures both layouts).
                columns = torch.empty(self.d, len(rows), dtype=rows.dtype, device=rows.device)
                for i in range(0, len(rows), CATALOG_CHUNK):
                    columns[:, i : i + CATALOG_CHUNK] = self.encode_item(rows[i : i + CATALOG_CHUNK]).t()
                self._item_cache = (key, columns)
        return self._item_cache[1].t()

    @torch.no_grad()
    def scores_for_user(self, user_id: str) -> torch.Tensor:
        """S of `user_id` against every catalog item, in `item_ids` order (a CPU float tensor, the caller's own).

        The last few users' scores are kept (`_ScoresMemo`, bounded in bytes) while no weight, catalog or mode
        changed: Explore's next item for the same user, or the rank beside a trace, costs a copy, not a
        catalog's scoring (0.3 s at 10⁶ items)."""
        sources = (*self.parameters(), *self.buffers())
        # What a score depends on besides the user: every weight and buffer (the tensors themselves, and their
        # versions: an optimizer step or a loaded state bumps them), the temperature (training anneals it), the
        # attention's normaliser and mask, the attached catalog and the mode.
        key = (
            str(user_id),
            tuple(t._version for t in sources),
            self.temperature,
            self.normalizer,
            self.presence_mask,
            id(self.users),
            id(self.items),
            self.training,
        )
        kept = self._user_scores.get(key, sources)
        if kept is None:
            kept = self.scores_for_vector(self.encode_user(self.user_rows(user_id))[0])
            self._user_scores.put(key, sources, kept)
        return kept.clone()

    @torch.no_grad()
    def scores_for_vector(self, x: torch.Tensor) -> torch.Tensor:
        """S of a user-side vector X (d,) against every catalog item, in `item_ids` order (a CPU float tensor).

        Chunked (`attention_scores`): memory stays bounded whatever the catalog size, never (N, H, d) traces."""
        x = torch.as_tensor(x, dtype=self.user_matrix.dtype, device=self.user_matrix.device).reshape(-1)
        w_u, w_v = self.attention_weights()
        return attention_scores(
            x,
            self._catalog_y(),
            w_u,
            w_v,
            self.temperature,
            normalizer=self.normalizer,
            mask_fn=self.attention_mask if self.presence_mask else None,
        ).cpu()

    def seen_items(self, user_id: str) -> np.ndarray:
        """Catalog rows the user interacted with (any label) in the attached dataset."""
        try:
            row = self._catalog()[0].row_of(str(user_id))
        except KeyError:
            return np.empty(0, dtype=np.int64)
        return self._seen_rows[self._seen_start[row] : self._seen_start[row + 1]]

    @torch.no_grad()
    def score(self, user_ids: Ids, item_ids: Ids) -> pd.DataFrame:
        """Pairwise scores; either side may be a single id, which is repeated."""
        users, items = _as_id_list(user_ids), _as_id_list(item_ids)
        if len(users) == 1 and len(items) > 1:
            users = users * len(items)
        if len(items) == 1 and len(users) > 1:
            items = items * len(users)
        if len(users) != len(items):
            raise ValueError(f"score() needs as many users as items, got {len(users)} and {len(items)}")
        s = (
            torch.cat(
                [
                    self.forward(self.user_rows(users[i : i + 4096]), self.item_rows(items[i : i + 4096]))
                    for i in range(0, len(users), 4096)
                ]
            )
            if users
            else torch.empty(0)
        )
        return pd.DataFrame(
            {
                "user_id": users,
                "item_id": items,
                "s": s.cpu().numpy().astype(float),
                "probability": self.probability(s).cpu().numpy().astype(float),
            }
        )

    @torch.no_grad()
    def top_k(self, user_id: str, k: int = 10, exclude_seen: bool = True) -> pd.DataFrame:
        """The k best-scoring catalog items (optionally skipping ones the user already interacted with), best
        first; items with exactly the same S are listed in catalog order (as `whatif.ranks_of` ranks them), so
        the list is the same on every run and machine. `ties`: how many other candidates score exactly this S —
        listed or not (a tie with the last listed item can reach past the list)."""
        scores = self.scores_for_user(user_id)
        candidates = scores.clone()
        if exclude_seen:
            candidates[torch.as_tensor(self.seen_items(user_id), dtype=torch.long)] = -torch.inf
        n = int(torch.isfinite(candidates).sum()) if exclude_seen else len(candidates)
        m = min(int(k), n)
        rows = torch.zeros(0, dtype=torch.long)
        ties = np.zeros(0, dtype=int)
        if m > 0:
            # Which items are listed is decided by the m-th best score alone: everything above it, then the items
            # at it in catalog order (torch.topk leaves the order of equal scores to the implementation).
            last = torch.topk(candidates, m).values[-1]
            above = torch.nonzero(candidates > last).flatten()
            at = torch.nonzero(candidates == last).flatten()
            chosen = torch.cat([above, at[: m - len(above)]])
            rows = chosen[torch.sort(candidates[chosen], descending=True, stable=True).indices]
            listed = candidates[rows]
            # Every candidate above the last listed score is listed, so its ties are counted in the list.
            ties = ((listed.unsqueeze(1) == listed.unsqueeze(0)).sum(1) - 1).numpy().astype(int)
            ties[(listed == last).numpy()] = len(at) - 1
        values = candidates[rows]
        item_ids = self.item_ids
        return pd.DataFrame(
            {
                "rank": np.arange(1, len(rows) + 1),
                "item_id": [item_ids[r] for r in rows.tolist()],
                "s": values.numpy().astype(float),
                "probability": self.probability(values.to(self.w_u.device)).cpu().numpy().astype(float),
                "ties": ties,
            }
        )

    @torch.no_grad()
    def rank_of(self, user_id: str, item_id: str) -> int:
        """1-based rank of `item_id` among all catalog items for this user (ties resolved in its favour)."""
        return self.rank_and_ties(user_id, item_id)[0]

    @torch.no_grad()
    def rank_and_ties(self, user_id: str, item_id: str) -> tuple[int, int]:
        """(`rank_of`, how many other catalog items score exactly the same for this user)."""
        scores = self.scores_for_user(user_id)
        s = scores[self._catalog()[1].row_of(item_id)]
        return int((scores > s).sum()) + 1, int((scores == s).sum()) - 1

    @torch.no_grad()
    def trace(self, user_id: str, item_id: str) -> PairTrace:
        r_u, r_v = self.user_rows(user_id)[0], self.item_rows(item_id)[0]
        x, y = self.encode_user(r_u), self.encode_item(r_v)
        trace = self.attention(x.unsqueeze(0), y.unsqueeze(0)).detach()
        s = trace.s[0]
        rank, ties = self.rank_and_ties(user_id, item_id)
        return PairTrace(
            trace=trace,
            x=x,
            y=y,
            r_u=r_u,
            r_v=r_v,
            dimension_names=list(self.dimension_names),
            user_id=str(user_id),
            item_id=str(item_id),
            s=float(s),
            probability=float(self.probability(s)),
            rank=rank,
            ties=ties,
        )

    # ---- copies and files --------------------------------------------------------------------
    def copy_to(self, device: str | torch.device) -> "Recommender":
        """A new model on `device`; this one (maybe cached and shared) is left untouched."""
        from attnrec.device import resolve_device

        target = resolve_device(device)
        # Share the read-only pieces (dataset, featurizer, encoded catalog) instead of copying them.
        memo: dict[int, object] = {
            id(o): o for o in (self._dataset, self.featurizer, self.users, self.items) if o is not None
        }
        memo[id(self._item_cache)] = None
        memo[id(self._user_scores)] = None
        twin = copy.deepcopy(self, memo)
        twin._item_cache = None
        twin._user_scores = _ScoresMemo()
        return twin.to(target).eval()

    @property
    def device(self) -> torch.device:
        return self.w_u.device

    def save(self, path: str | Path) -> None:
        from attnrec.checkpoint import save

        save(self, path)

    @classmethod
    def load(
        cls, path: str | Path, device: str | torch.device = "auto", dataset: Dataset | None = None
    ) -> "Recommender":
        from attnrec.checkpoint import load

        return load(path, device=device, dataset=dataset, model_class=cls)
