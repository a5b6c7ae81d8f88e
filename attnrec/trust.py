"""Glue between the pages and `attnrec.explain` for the trust checks. Pure: no Streamlit.

- Report card at a grouping the reference can handle: exact Shapley needs ≤ 16 groups. Above that the
  explain package falls back to Shapley Value Sampling as the reference (`attnrec.explain.report.reference_for`,
  the one place that choice is made), which is itself an estimate; `reference_plan` says so in plain words.
  Which methods run where comes from the registry (`MethodSpec.applies`), never from a method's key.
  Aligned models offer a coarser grouping with exact ground truth: each feature family with the user and
  item side switched together ("families"), e.g. 9 groups for the aligned restaurants instead of 18 fields or
  29 dimensions.
- Attention vs attributions: Kendall τ between attention weights and each method's dimension
  importances, per pair, summarised with `attnrec.explain.agreement.agreement_verdict`.
- Sanity checks: cascading parameter randomization on a sample (attnrec.explain.sanity).
- Batch-explain Parquet files (`attnrec explain … --out x.parquet`): read with pyarrow only, checked
  against `attnrec.explain.batch.SCHEMA`, summarised per method.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from attnrec.model import Recommender

from attnrec.explain import MAX_GROUPS, METHODS, Group, explain, targets_for
from attnrec.explain.agreement import (
    agreement_summary,
    agreement_verdict,
    attention_dimension_importance,
    dimension_importance,
)
from attnrec.explain.metrics import RESOLUTION, kendall_tau_rows, snap_noise
from attnrec.explain.report import EXACT_REFERENCE, SAMPLING_PERMUTATIONS, ReportCard, reference_for, report_card

__all__ = [
    "GROUPINGS",
    "ReferencePlan",
    "not_shares_of_s",
    "families_available",
    "family_groups",
    "trust_target",
    "reference_plan",
    "plan_for",
    "grouping_options",
    "verdict_word",
    "verdict_tone",
    "CARD_LABELS",
    "CARD_FORMATS",
    "CARD_COLUMN_CONFIG",
    "CARD_PARTS",
    "card_methods",
    "snap_noise",
    "RESOLUTION",
    "run_report_card",
    "card_table",
    "curves_frame",
    "CARD_COLUMNS",
    "AgreementResult",
    "attention_vs_attributions",
    "run_sanity_checks",
    "unchanged_at_earlier_stages",
    "BatchFileError",
    "read_batch_explanations",
    "BatchSummary",
    "summarize_batch",
    "method_name",
]

GROUPINGS = ("level", "families")

# Report-card columns in display order (names match attnrec.figures.explain.style_report_card).
CARD_COLUMNS = (
    "method",
    "verdict",
    "max_abs_error",
    "kendall_tau",
    "top_k_overlap",
    "completeness_gap",
    "relative_gap",
    "erase_top_k",
    "infidelity",
    "sensitivity_max",
    "deletion_auc",
    "insertion_auc",
    "reason",
)


def method_name(key: str) -> str:
    return METHODS[key].name if key in METHODS else key


# ---- which groups, which reference ------------------------------------------------------------------


def families_available(model: Recommender) -> bool:
    """True for aligned models whose user and item sides have the same named feature families on the same
    columns, so a family can switch on both sides at once. A hybrid's one-hot ids (different columns on each
    side) pair up as one more family, the learned taste."""
    fz = model.featurizer
    if getattr(fz, "mode", None) != "aligned":
        return False
    users, items = ([(g.name, g.start, g.stop) for g in fz.groups(side) if g.kind != "id"] for side in ("user", "item"))
    return users == items


TASTE_FAMILY = "taste (learned from ids)"


def family_groups(model: Recommender) -> list[Group]:
    """One group per feature family, user and item columns together (aligned models only)."""
    if not families_available(model):
        raise ValueError("feature families pair up only in aligned models (same families on both sides)")
    fz = model.featurizer
    named = [
        Group(g.name, user_cols=tuple(range(g.start, g.stop)), item_cols=tuple(range(g.start, g.stop)))
        for g in fz.groups("user")
        if g.kind != "id"
    ]
    ids = {side: next((g for g in fz.groups(side) if g.kind == "id"), None) for side in ("user", "item")}
    if ids["user"] is not None and ids["item"] is not None:
        named.append(
            Group(
                TASTE_FAMILY,
                user_cols=tuple(range(ids["user"].start, ids["user"].stop)),
                item_cols=tuple(range(ids["item"].start, ids["item"].stop)),
            )
        )
    return named


def trust_target(
    model: Recommender,
    user_ids: Sequence[str],
    item_ids: Sequence[str],
    level: str = "fields",
    baseline: str = "zeros",
    grouping: str = "level",
):
    """The ExplainTarget the trust checks score: `targets_for` at `level` (fields / paired dimensions),
    regrouped into families when grouping == "families"."""
    if grouping not in GROUPINGS:
        raise ValueError(f"grouping must be one of {GROUPINGS}, got {grouping!r}")
    users, items = [str(u) for u in user_ids], [str(i) for i in item_ids]
    target = targets_for(
        model, model.user_rows(users), model.item_rows(items), level, baseline, pair_ids=list(zip(users, items))
    )
    if grouping == "families":
        target = replace(target, groups=family_groups(model))
    return target


@dataclass(frozen=True)
class ReferencePlan:
    n_groups: int
    exact: bool  # exact Shapley is the ground truth
    key: str  # attnrec.explain.report.reference_for's choice
    message: str  # what the page says about it, in plain words
    params: dict | None = None  # the reference's parameters (the sampler's permutations)


def reference_plan(
    n_groups: int, what: str = "groups", exact_elsewhere: str | None = None, level: str = "dimensions"
) -> ReferencePlan:
    """The reference `report_card(reference="auto")` will use for `n_groups`, and what to tell the reader."""
    key, params = reference_for(level, n_groups)
    if key == EXACT_REFERENCE:
        return ReferencePlan(
            n_groups,
            True,
            key,
            f"Ground truth: exact Shapley values over the {n_groups} {what} (all 2^{n_groups} "
            "coalitions evaluated). Errors below are errors against the truth.",
        )
    message = (
        f"This report card has no exact ground truth at its level: exact Shapley needs at most {MAX_GROUPS} "
        f"groups and the card scores {n_groups} {what}. (A verdict elsewhere on the page may still be exact: "
        f"it says which groups it compares over.) The card's reference is Shapley Value Sampling "
        f"({SAMPLING_PERMUTATIONS} random permutations) — itself an estimate, so each error below mixes the "
        "method's own error with the sampler's noise, and no method can score better than the reference's "
        "accuracy."
    )
    if exact_elsewhere:
        message += f" {exact_elsewhere}"
    return ReferencePlan(n_groups, False, key, message, params)


def grouping_options(model: Recommender, level: str) -> dict[str, str]:
    """The groupings the card can score at `level`, as {key: label}. "families" is offered only when it
    exists (aligned models) and the level itself has more groups than exact Shapley can take."""
    n = _level_group_count(model, level)
    what = "fields (user and item separately)" if level == "fields" else "dimensions (X_i with Y_i)"
    options = {"level": f"as above: {n} {what}"}
    if n > MAX_GROUPS and families_available(model):
        families = len(model.featurizer.groups("user"))
        options["families"] = (
            f"feature families, user + item side together ({families}): exact ground truth"
            if families <= MAX_GROUPS
            else f"feature families, user + item together ({families})"
        )
    return options


def _level_group_count(model, level: str) -> int:
    fz = model.featurizer
    return len(fz.groups("user")) + len(fz.groups("item")) if level == "fields" else int(model.d)


def plan_for(model: Recommender, level: str, grouping: str) -> ReferencePlan:
    """`reference_plan` for the groups the card will score, with a pointer to an exact alternative."""
    if grouping == "families":
        return reference_plan(len(model.featurizer.groups("user")), "feature families (user + item side together)")
    n = _level_group_count(model, level)
    what = "fields" if level == "fields" else "dimensions"
    hint = None
    other = "dimensions" if level == "fields" else "fields"
    if n > MAX_GROUPS:
        if families_available(model) and len(model.featurizer.groups("user")) <= MAX_GROUPS:
            hint = (
                "Exact ground truth is available over feature families (user and item side of a family "
                "switched together): choose that grouping."
            )
        elif _level_group_count(model, other) <= MAX_GROUPS:
            hint = (
                f"At the {'dimension' if other == 'dimensions' else 'raw-field'} level "
                f"({_level_group_count(model, other)} {other}) exact Shapley is available."
            )
        else:
            hint = "No grouping of this model gets under 16 groups, so no exact ground truth is shown anywhere."
    return reference_plan(n, what, hint)


def verdict_word(text: str) -> str:
    """The verdict's leading words: "agree", "partly agree", "disagree", "contradict", "faithful", …"""
    return text.split(":")[0].strip()


def verdict_tone(text: str) -> str:
    """ "success" | "info" | "warning" for a verdict's first word (faithful / agree … unfaithful / disagree)."""
    word = text.split(":")[0].split(" ")[0].strip().lower()
    if word in ("faithful", "agree", "passes"):
        return "success"
    if word in ("approximate", "partly"):
        return "info"
    return "warning"


# Column headers and help for the report card table (keys: CARD_COLUMNS), and the number formats.
CARD_LABELS = {
    "method": ("method", None),
    "verdict": (
        "verdict",
        "faithful: ranks groups like the reference (τ ≥ 0.8, top-k ≥ 80%) and adds up "
        "(gap ≤ 5%); approximate: τ ≥ 0.5 and top-k ≥ 50%; unfaithful: otherwise.",
    ),
    "max_abs_error": ("max |err|", "Largest |attribution − reference| over the groups."),
    "kendall_tau": ("τ", "Kendall τ with the reference over the groups (1 = same order)."),
    "top_k_overlap": ("top-k", "Share of the reference's k largest-|·| groups that the method also puts in its top k."),
    "completeness_gap": ("gap", "Completeness gap: Σ attributions − (S − S(baseline)); 0 = adds up exactly."),
    "relative_gap": ("rel. gap", "|completeness gap| as a share of |S − S(baseline)|."),
    "erase_top_k": (
        "erase top-k",
        "Attention only (its weights are not shares of S): |S change| from erasing the "
        "k most-attended dimensions, as a share of the change from erasing the reference's "
        "top k. The reason compares k random dimensions.",
    ),
    "infidelity": (
        "infidelity",
        "Captum infidelity (normalized): how badly Σ attributions of randomly dropped "
        "groups predicts the score drop. Lower is better.",
    ),
    "sensitivity_max": (
        "sensitivity",
        "Captum sensitivity_max relative to the attribution's size: the largest "
        "change of the explanation for a ±2% input nudge. Lower is steadier.",
    ),
    "deletion_auc": (
        "deletion",
        "Area under the deletion curve: removing top groups first should make the score fall fast. Lower is better.",
    ),
    "insertion_auc": (
        "insertion",
        "Area under the insertion curve: restoring top groups first should make the score rise fast. Higher is better.",
    ),
    "reason": ("why", None),
}
CARD_FORMATS = {
    "max_abs_error": "{:.2g}",
    "completeness_gap": "{:+.1e}",
    "relative_gap": "{:.0%}",
    "erase_top_k": "{:.0%}",
    "infidelity": "{:.1e}",
    "sensitivity_max": "{:.3g}",
    "kendall_tau": "{:+.2f}",
    "top_k_overlap": "{:.0%}",
    "deletion_auc": "{:.2f}",
    "insertion_auc": "{:.2f}",
}
# Keyword arguments for st.column_config.Column per card column.
CARD_COLUMN_CONFIG = {column: {"label": label, "help": help_text} for column, (label, help_text) in CARD_LABELS.items()}
# The card in two tables that fit the page: what needs the reference, and what the model itself scores.
CARD_PARTS = {
    "against the reference": [
        "method",
        "verdict",
        "max_abs_error",
        "kendall_tau",
        "top_k_overlap",
        "completeness_gap",
        "relative_gap",
        "erase_top_k",
    ],
    "scored by the model itself": ["method", "infidelity", "sensitivity_max", "deletion_auc", "insertion_auc"],
}


def card_methods(
    level: str, chosen: Sequence[str], reference_key: str | None = None, n_groups: int | None = None
) -> list[str]:
    """Registry keys the card scores: `chosen` that apply at `level` to `n_groups` groups (the reference
    itself is always the card's first row, so it is left out here), plus attention read as importance at the
    dimension level."""
    keys = [k for k in chosen if METHODS[k].applies(level, n_groups) and k != reference_key]
    if level == "dimensions" and "attention" not in keys:
        keys.append("attention")
    return list(dict.fromkeys(keys))


def not_shares_of_s(keys: Sequence[str]) -> str:
    """The card caption's warning, from the registry (`MethodSpec.share_of_s`): which of `keys` are gradients or
    weights rather than amounts of S, so that their gap and error are large by construction ("" if none)."""
    names = [METHODS[k].name for k in dict.fromkeys(keys) if k in METHODS and not METHODS[k].share_of_s]
    if not names:
        return ""
    return (
        f"Not shares of S, so their gap and error are large by construction (judge them on τ, top-k and the "
        f"curves): {', '.join(names)}."
    )


def run_report_card(
    target,
    methods: Sequence[str],
    params: dict | None = None,
    *,
    k: int = 3,
    infidelity_samples: int = 20,
    sensitivity_samples: int = 3,
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
) -> ReportCard:
    """`report_card(target, methods, params, …)` with progress reports.

    Each method's attributions are computed first (one progress step each) and handed to report_card
    as `extra`; it then scores them against its own reference. report_card runs a method exactly like
    this (explain(target, key, params[key])), so every number and verdict equals a direct call."""
    params = params or {}
    plan = reference_plan(len(target.groups), level=target.level)
    keys = [k for k in methods if METHODS[k].applies(target.level, plan.n_groups) and k != plan.key]
    attributions = {}
    for number, key in enumerate(keys):
        if progress:
            progress(f"Attributions: {method_name(key)}", number / (len(keys) + 1))
        attributions[key] = explain(target, key, params.get(key))
    if progress:
        progress(
            f"Scoring {len(keys)} method(s) against {method_name(plan.key)} (infidelity, sensitivity, "
            "deletion / insertion)…",
            len(keys) / (len(keys) + 1),
        )
    card = report_card(
        target,
        methods=(),
        params=params,
        k=k,
        extra=attributions,
        infidelity_samples=infidelity_samples,
        sensitivity_samples=sensitivity_samples,
        seed=seed,
    )
    if progress:
        progress("Report card done", 1.0)
    return card


def card_table(card: ReportCard) -> pd.DataFrame:
    """One row per method (the reference first): verdict, the medians over pairs, the reason.

    completeness_gap is the median signed Σattr − (S − S(baseline)) (for one pair: its gap);
    sensitivity_max is Captum's sensitivity_max relative to the attribution's size."""
    per_pair = card.per_pair.groupby("method", sort=False)
    gap = per_pair["completeness_gap"].median()
    rows = []
    for row in card.summary.itertuples(index=False):
        erase = getattr(row, "erase_tested_ratio", np.nan)
        rows.append(
            {
                "method": row.name,
                "verdict": row.verdict,
                "max_abs_error": row.max_abs_error,
                "kendall_tau": row.kendall_tau,
                "top_k_overlap": row.top_k_overlap,
                "completeness_gap": float(gap[row.method]),
                "relative_gap": row.relative_gap,
                "erase_top_k": erase,
                "infidelity": row.infidelity,
                "sensitivity_max": row.sensitivity,
                "deletion_auc": row.deletion_auc,
                "insertion_auc": row.insertion_auc,
                "reason": row.reason,
            }
        )
    return pd.DataFrame(rows, columns=list(CARD_COLUMNS))


def curves_frame(card: ReportCard) -> pd.DataFrame:
    """Long frame (method name, fraction of groups moved, deletion, insertion) of the mean curves."""
    frames = []
    for key, curve in card.curves.items():
        steps = len(curve["deletion"])
        frames.append(
            pd.DataFrame(
                {
                    "method": method_name(key),
                    "fraction": np.linspace(0.0, 1.0, steps),
                    "deletion": curve["deletion"],
                    "insertion": curve["insertion"],
                }
            )
        )
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["method", "fraction", "deletion", "insertion"])
    )


# ---- attention vs attributions --------------------------------------------------------------------


@dataclass
class AgreementResult:
    reference: str  # registry key of the method the headline compares with
    per_pair: pd.DataFrame  # method (display name), key, pair, kendall_tau, reading (verdict's first words)
    summary: pd.DataFrame  # per method: median / quartiles of τ, share τ ≥ 0.5, pairs, verdict
    headline: str  # the verdict against the reference, in plain words


def attention_vs_attributions(
    model: Recommender,
    user_ids: Sequence[str],
    item_ids: Sequence[str],
    baseline: str,
    methods: Sequence[str],
    params: dict | None = None,
    attributions: dict | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> AgreementResult:
    """Kendall τ between attention weights and each method's dimension importance |attr(X_i) + attr(Y_i)|,
    per pair, at the dimension level (attention weights exist only there), whatever level the page shows.

    The reference (`reference_plan`: exact Shapley if d ≤ 16, else Shapley sampling) is always
    included; the headline verdict is attention against it. `attributions` (registry key → dimension-
    level Attribution for exactly these pairs and baseline) are reused instead of recomputed."""
    params = params or {}
    target = trust_target(model, user_ids, item_ids, "dimensions", baseline)
    plan = reference_plan(len(target.groups), level=target.level)
    keys = [plan.key] + [
        k
        for k in methods
        if METHODS[k].applies(target.level, plan.n_groups) and METHODS[k].runner != "attention" and k != plan.key
    ]
    have = dict(attributions or {})
    done = {}
    for number, key in enumerate(dict.fromkeys(keys)):
        if progress:
            progress(f"Attention vs {method_name(key)}", number / len(keys))
        done[key] = (
            have[key] if key in have else explain(target, key, plan.params if key == plan.key else params.get(key))
        )
    # attnrec.explain.agreement.attention_agreement, with the method's importances noise-snapped like the
    # report card's rankings (snap_noise): a dimension exact Shapley credits with ±1e-19 ties with the
    # others at 0.
    attention = attention_dimension_importance(target, "weights")
    frames = []
    for key, a in done.items():
        importance = snap_noise(dimension_importance(a), a.s, a.s_baseline)
        frames.append(
            pd.DataFrame(
                {
                    "method": method_name(key),
                    "key": key,
                    "pair": np.arange(target.batch_size),
                    "kendall_tau": kendall_tau_rows(attention, importance),
                }
            )
        )
    per_pair = pd.concat(frames, ignore_index=True)
    per_pair["reading"] = [
        verdict_word(agreement_verdict([tau], name)) for name, tau in zip(per_pair["method"], per_pair["kendall_tau"])
    ]
    summary = agreement_summary(per_pair[["method", "pair", "kendall_tau"]])
    headline_row = summary.set_index("method").loc[method_name(plan.key)]
    if progress:
        progress("Agreement done", 1.0)
    return AgreementResult(plan.key, per_pair, summary, str(headline_row["verdict"]))


# ---- sanity checks ---------------------------------------------------------------------------------


def run_sanity_checks(
    model: Recommender,
    user_ids: Sequence[str],
    item_ids: Sequence[str],
    level: str,
    baseline: str,
    methods: Sequence[str],
    params: dict | None = None,
    grouping: str = "level",
    seed: int = 0,
    threshold: float = 0.9,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cascading parameter randomization on these pairs: (per stage × method ρ, per-method verdicts).

    The targets are rebuilt from each randomized model copy, so randomizing the encoders moves X and Y
    at the dimension level as it would in the model. The model itself is never changed."""
    from attnrec.explain.sanity import cascading_randomization, sanity_verdicts

    users, items = [str(u) for u in user_ids], [str(i) for i in item_ids]
    user_rows, item_rows = model.user_rows(users), model.item_rows(items)
    n_groups = len(trust_target(model, users[:1], items[:1], level, baseline, grouping).groups)
    keys = [k for k in methods if METHODS[k].applies(level, n_groups)]

    def make_target(m):
        target = targets_for(m, user_rows, item_rows, level, baseline)
        return replace(target, groups=family_groups(model)) if grouping == "families" else target

    results = cascading_randomization(model, make_target, keys, params or {}, seed=seed)
    verdicts = sanity_verdicts(results, threshold)
    for frame in (results, verdicts):
        frame.insert(1, "name", frame["method"].map(method_name))
    return results, verdicts


def unchanged_at_earlier_stages(results: pd.DataFrame, threshold: float = 0.9) -> dict[str, list[str]]:
    """{stage: method names whose median ρ stays above `threshold` there}, for every stage but the last.

    sanity_verdicts judges the last, most randomized stage only. A method that does not move when just
    the attention weights are re-drawn is not flagged by it, but it says something worth showing: the
    explanation does not depend on the attention weights (for every method at once: S barely does)."""
    stages = list(dict.fromkeys(results["stage"]))[:-1]
    out = {}
    for stage in stages:
        part = results[(results["stage"] == stage) & (results["spearman_median"] > threshold)]
        if len(part):
            out[stage] = list(part["name"] if "name" in part else part["method"])
    return out


# ---- batch-explain Parquet files ----------------------------------------------------------------------


class BatchFileError(ValueError):
    """A file that is not a readable batch-explain Parquet output; the message says what is wrong."""


def _read_table(source):
    # Size limits (rows, uncompressed and decoded bytes: attnrec.limits) are checked from the file's
    # metadata and batch by batch by the data layer's reader, before the table is built.
    from attnrec.data.io import read_parquet_arrow
    from attnrec.data.types import DataError

    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        if path.suffix.lower() != ".parquet":
            raise BatchFileError(f"{path.name or path}: only .parquet files are read here")
        if not path.is_file():
            raise BatchFileError(f"{path}: no such file")
        reader, name = str(path), path.name
    else:
        data = source if isinstance(source, (bytes, bytearray, memoryview)) else source.read()
        if not len(data):
            raise BatchFileError("the file is empty (0 bytes)")
        reader, name = bytes(data), "the upload"
    try:
        return read_parquet_arrow(reader, name)
    except DataError as err:
        raise BatchFileError(str(err).replace("file the upload: ", "")) from None


def read_batch_explanations(source) -> pd.DataFrame:
    """A batch-explain output (path, bytes or binary file object) as a frame with SCHEMA's columns.

    Read with pyarrow only; columns are cast to the schema's plain types, extra columns are dropped.
    Raises BatchFileError with a plain message for anything else (not Parquet, missing columns,
    wrong types, no rows)."""
    import pyarrow as pa

    from attnrec.explain.batch import SCHEMA

    table = _read_table(source)
    missing = [f.name for f in SCHEMA if f.name not in table.column_names]
    if missing:
        raise BatchFileError(
            f"this is not an `attnrec explain` output: column(s) {', '.join(missing)} missing "
            f"(it has {', '.join(table.column_names[:8]) or 'no columns'}"
            f"{'…' if len(table.column_names) > 8 else ''})"
        )
    columns = []
    for field in SCHEMA:
        column = table.column(field.name)
        try:
            columns.append(column.cast(field.type))
        except (pa.ArrowException, ValueError):
            raise BatchFileError(f"column '{field.name}' holds {column.type}, expected {field.type}") from None
    table = pa.table(columns, schema=SCHEMA)
    if table.num_rows == 0:
        raise BatchFileError("the file has the right columns but no rows")
    frame = table.to_pandas()
    for name in ("user_id", "item_id", "method", "level", "baseline", "group", "side"):
        if frame[name].isna().any():
            row = int(frame[name].isna().to_numpy().argmax())
            raise BatchFileError(f"column '{name}' has empty values (row {row})")
    return frame


@dataclass
class BatchSummary:
    overview: dict  # pairs, rows, methods, levels, baselines, groups
    per_method: pd.DataFrame  # per method: pairs, groups, completeness, most often first group
    top_groups: pd.DataFrame  # per method × group: mean |attribution|, mean attribution, share ranked 1 / top 3
    agreement: pd.DataFrame | None  # per method × pair: τ with attention (dimension-level files with attention)


def summarize_batch(frame: pd.DataFrame) -> BatchSummary:
    """Per-method distributions and top groups of a `read_batch_explanations` frame."""
    overview = {
        "pairs": int(frame["pair"].nunique()),
        "rows": int(len(frame)),
        "methods": list(dict.fromkeys(frame["method"])),
        "levels": sorted(frame["level"].unique()),
        "baselines": sorted(frame["baseline"].unique()),
        "groups": int(frame["group"].nunique()),
    }
    per_pair = frame.drop_duplicates(["method", "pair"])
    change = (per_pair["s"] - per_pair["s_baseline"]).abs()
    per_pair = per_pair.assign(
        abs_gap=per_pair["completeness_gap"].abs(),
        relative_gap=per_pair["completeness_gap"].abs() / np.maximum(change, 1e-8),
        abs_delta=per_pair["convergence_delta"].abs(),
    )
    firsts = frame[frame["rank"] == 1]
    rows = []
    for key, part in per_pair.groupby("method", sort=False):
        first = firsts[firsts["method"] == key]["group"].value_counts()
        rows.append(
            {
                "method": method_name(key),
                "key": key,
                "pairs": int(part["pair"].nunique()),
                "groups": int(frame.loc[frame["method"] == key, "group"].nunique()),
                "median |completeness gap|": float(part["abs_gap"].median()),
                "median relative gap": float(part["relative_gap"].median()),
                "share within 5%": float((part["relative_gap"] <= 0.05).mean()),
                "median |convergence delta|": float(part["abs_delta"].median())
                if part["abs_delta"].notna().any()
                else np.nan,
                "most often first": first.index[0] if len(first) else "",
                "share first": float(first.iloc[0] / part["pair"].nunique()) if len(first) else np.nan,
            }
        )
    per_method = pd.DataFrame(rows)
    grouped = frame.assign(
        magnitude=frame["attribution"].abs(), first=frame["rank"] == 1, top3=frame["rank"] <= 3
    ).groupby(["method", "group"], sort=False)
    top_groups = grouped.agg(
        mean_abs_attribution=("magnitude", "mean"),
        mean_attribution=("attribution", "mean"),
        share_ranked_first=("first", "mean"),
        share_in_top_3=("top3", "mean"),
    ).reset_index()
    top_groups.insert(1, "name", top_groups["method"].map(method_name))
    top_groups = top_groups.sort_values(
        ["method", "mean_abs_attribution"], ascending=[True, False], kind="stable"
    ).reset_index(drop=True)
    return BatchSummary(overview, per_method, top_groups, _batch_agreement(frame))


def _batch_agreement(frame: pd.DataFrame) -> pd.DataFrame | None:
    """τ per pair between the file's attention rows and each other method's |attribution| (dimension level)."""
    dims = frame[frame["level"] == "dimensions"]
    if "attention" not in set(dims["method"]) or dims["method"].nunique() < 2:
        return None
    wide = dims.pivot_table(
        index=["baseline", "pair"], columns=["method", "group"], values="attribution", aggfunc="first", sort=False
    )
    attention = wide["attention"]
    frames = []
    for key in dict.fromkeys(dims["method"]):
        if key == "attention":
            continue
        values = wide[key].reindex(columns=attention.columns)
        ok = values.notna().all(axis=1) & attention.notna().all(axis=1)
        taus = kendall_tau_rows(attention[ok].to_numpy(float), np.abs(values[ok].to_numpy(float)))
        index = attention[ok].index
        frames.append(
            pd.DataFrame(
                {"method": method_name(key), "key": key, "pair": index.get_level_values("pair"), "kendall_tau": taus}
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else None
