"""What-if: edit a user's raw attributes, re-encode them, and see which items move, by how much, and why.

"Why" is exact: the score change of an item, ΔS = S(edited user) − S(original user), is split over the
edited fields by exact Shapley values with the original user as the baseline (so the shares add up to
ΔS exactly, and a field that was not edited gets nothing). The model is used only through
`forward(r_u, r_v)`; attnrec.explain.exact_shapley does the coalition arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from attnrec.explain.shapley import MAX_GROUPS, exact_shapley
from attnrec.explain.target import ExplainTarget, Group
from attnrec.reasons import signed_amount

if TYPE_CHECKING:
    from attnrec.model import Recommender

__all__ = [
    "WhatIf",
    "encode_user_row",
    "changed_groups",
    "catalog_scores",
    "ranks_of",
    "what_if",
    "explain_shift",
    "shift_reason",
]

# Edited groups beyond this many are explained together as "other edits": 2^(n+1) coalitions per item.
MAX_EDITED_GROUPS = min(8, MAX_GROUPS - 1)


@dataclass
class WhatIf:
    table: pd.DataFrame  # per item: item_id, s_before, s_after, delta_s, rank_before, rank_after, rank_change
    edited_fields: list[str]  # user field groups whose encoded columns changed
    r_before: torch.Tensor  # (R_u,) encoded original user
    r_after: torch.Tensor  # (R_u,) encoded edited user


def encode_user_row(model: Recommender, edited_row: pd.Series | pd.DataFrame) -> torch.Tensor:
    """The model's raw user columns (R_u,) for one edited raw row (same columns as dataset.users)."""
    table = edited_row.to_frame().T if isinstance(edited_row, pd.Series) else edited_row
    if len(table) != 1:
        raise ValueError(f"expected one edited user row, got {len(table)}")
    matrix = model.featurizer.encode("user", table).matrix
    return torch.as_tensor(matrix[0], dtype=model.user_matrix.dtype, device=model.user_matrix.device)


def changed_groups(model: Recommender, r_before: torch.Tensor, r_after: torch.Tensor, atol: float = 1e-6) -> list:
    """The user FieldGroups whose encoded columns differ between the two rows."""
    diff = (r_after - r_before).abs().cpu().numpy()
    return [g for g in model.user_encoding.groups if diff[g.slice].max(initial=0.0) > atol]


@torch.no_grad()
def catalog_scores(model: Recommender, r_u: torch.Tensor, chunk: int = 8192) -> np.ndarray:
    """S of one encoded user row against every catalog item (item_ids order) via `model.forward`."""
    items = model.item_matrix
    out = [
        model.forward(r_u.expand(len(items[i : i + chunk]), -1), items[i : i + chunk])
        for i in range(0, len(items), chunk)
    ]
    return torch.cat(out).double().cpu().numpy() if out else np.empty(0)


def ranks_of(scores: np.ndarray) -> np.ndarray:
    """1-based rank of every entry, best score first; ties keep catalog order (stable)."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype=int)
    ranks[order] = np.arange(1, len(scores) + 1)
    return ranks


def what_if(model: Recommender, user_id: str, edited_row: pd.Series, exclude_seen: bool = False) -> WhatIf:
    """Score every catalog item for the original and the edited user; rank both ways.

    exclude_seen: leave out the items this user already interacted with and rank the rest, as `model.top_k`
    does with the same flag, so the two lists agree."""
    r_before = model.user_rows(user_id)[0]
    r_after = encode_user_row(model, edited_row)
    before, after = catalog_scores(model, r_before), catalog_scores(model, r_after)
    item_ids = np.asarray(list(model.item_ids), dtype=object)
    if exclude_seen:
        keep = np.ones(len(item_ids), dtype=bool)
        keep[np.asarray(model.seen_items(user_id), dtype=int)] = False
        item_ids, before, after = item_ids[keep], before[keep], after[keep]
    rank_before, rank_after = ranks_of(before), ranks_of(after)
    table = pd.DataFrame(
        {
            "item_id": list(item_ids),
            "s_before": before,
            "s_after": after,
            "delta_s": after - before,
            "rank_before": rank_before,
            "rank_after": rank_after,
            "rank_change": rank_before - rank_after,
        }
    )  # > 0: moved up
    edited = [g.name for g in changed_groups(model, r_before, r_after)]
    return WhatIf(table, edited, r_before, r_after)


def explain_shift(model: Recommender, result: WhatIf, item_ids: list[str]) -> pd.DataFrame:
    """Per item (rows) and edited field (columns): its exact Shapley share of ΔS; rows sum to ΔS."""
    groups = [g for g in model.user_encoding.groups if g.name in result.edited_fields]
    if not groups or not item_ids:
        return pd.DataFrame(index=pd.Index(list(item_ids), name="item_id"))
    groups = sorted(groups, key=lambda g: -float((result.r_after - result.r_before)[g.slice].abs().sum()))
    named, rest = groups[:MAX_EDITED_GROUPS], groups[MAX_EDITED_GROUPS:]
    explain_groups = [Group(g.name, user_cols=tuple(range(g.start, g.stop))) for g in named]
    if rest:
        explain_groups.append(Group("other edits", user_cols=tuple(c for g in rest for c in range(g.start, g.stop))))
    used = {c for g in explain_groups for c in g.user_cols}
    n_u, n_v = result.r_after.shape[0], model.item_matrix.shape[1]
    # Everything not edited (other user columns, all item columns) is one group whose input equals its
    # baseline, so its Shapley value is exactly 0 (a dummy player) and the named shares sum to ΔS.
    explain_groups.append(
        Group("unchanged", user_cols=tuple(c for c in range(n_u) if c not in used), item_cols=tuple(range(n_v)))
    )
    if not explain_groups[-1].user_cols and not explain_groups[-1].item_cols:
        explain_groups.pop()
    items = model.item_rows(list(item_ids))
    b = len(item_ids)
    target = ExplainTarget(
        module=model,
        inputs_u=result.r_after.expand(b, -1),
        inputs_v=items,
        baseline_u=result.r_before.unsqueeze(0),
        baseline_v=items,
        names_u=list(model.user_encoding.columns),
        names_v=list(model.item_encoding.columns),
        groups=explain_groups,
        level="fields",
        baseline_kind="original user",
    )
    phi, _, _ = exact_shapley(target)
    names = [g.name for g in explain_groups]
    frame = pd.DataFrame(phi, columns=names, index=pd.Index(list(item_ids), name="item_id"))
    return frame.drop(columns=["unchanged"], errors="ignore")


def shift_reason(shares: pd.Series, top: int = 2, relative: float = 0.01) -> str:
    """ "cuisine +0.31, budget −0.0014" from one item's row of `explain_shift` (its shares add up to ΔS).

    A share is named when it is at least `relative` × the row's largest share: a threshold on the item's own
    scale, so a small ΔS is explained as well as a large one. Only a row whose shares are all zero (ΔS = 0 up
    to float rounding) reads "no edited field moves this item"."""
    values = shares.astype(float)
    largest = float(values.abs().max()) if len(values) else 0.0
    if largest <= 1e-12:
        return "no edited field moves this item"
    ordered = values.reindex(values.abs().sort_values(ascending=False).index)[:top]
    return ", ".join(f"{name} {signed_amount(v)}" for name, v in ordered.items() if abs(v) >= relative * largest)
