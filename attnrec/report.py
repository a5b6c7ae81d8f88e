"""One pair's explanation, and its exports: a JSON dict, a CSV table, a self-contained HTML report.

`explain_pair` asks the model for the attention trace of a catalog pair (or of typed X, Y vectors) and
asks attnrec.explain for attributions of S to the raw user / item attributes (to the dimensions of X
and Y in vector mode). The three exports are pure functions of the resulting `PairExplanation`; every
string from data (ids, attribute values, names) is escaped in HTML and formula-safe in CSV.
"""
from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import torch

from attnrec.attention import AttentionTrace
from attnrec.explain import Attribution, ExplainTarget, dimension_target, explain, groups_from_fields, method
from attnrec.explain.target import AttendScore
from attnrec.model import PairTrace
from attnrec.reasons import describe_fields, raw_columns_of_group, split_group_name
from attnrec.safety import escape_html, safe_csv_bytes

__all__ = ["PairExplanation", "explain_pair", "explain_vectors", "field_target", "vector_trace", "cell_story",
           "attribution_table", "to_json_dict", "to_frame", "to_csv_bytes", "to_html", "comparison_json",
           "comparison_csv_bytes", "comparison_html", "TRACE_FIELDS", "FORMAT"]

FORMAT = "attnrec-explanation"
TRACE_FIELDS = ("logits_u", "a_u", "z_u", "logits_v", "a_v", "z_v", "contributions")


@dataclass
class PairExplanation:
    """Everything the Explore page shows for one pair, in plain numbers."""

    pair: PairTrace
    attribution: Attribution | None        # None when attributions were not asked for
    table: pd.DataFrame                    # side, field, label, attribution (largest |value| first)
    method: str
    params: dict
    n_items: int                           # catalog size the rank is out of
    vectors: bool = False                  # X, Y typed by the user instead of catalog rows
    user_attributes: dict[str, str] = field(default_factory=dict)
    item_attributes: dict[str, str] = field(default_factory=dict)
    context: dict = field(default_factory=dict)   # dataset, model, device names (for the exports)

    @property
    def residual(self) -> float:
        """S − Σ contributions: ~0 by construction; shown so nobody has to take it on trust."""
        return float(self.pair.s - self.pair.trace.contributions[0].double().sum())


# ---- computing --------------------------------------------------------------------------------

def field_target(model, r_u: torch.Tensor, r_v: torch.Tensor, baseline: str = "zeros") -> ExplainTarget:
    """The model as raw columns → S, one group per raw attribute (aligned: per family) on each side."""
    fz = model.featurizer
    device = model.device
    return ExplainTarget(
        module=model, inputs_u=r_u.reshape(1, -1), inputs_v=r_v.reshape(1, -1),
        baseline_u=torch.as_tensor(fz.baseline_row("user", baseline), device=device),
        baseline_v=torch.as_tensor(fz.baseline_row("item", baseline), device=device),
        names_u=list(fz.columns("user")), names_v=list(fz.columns("item")),
        groups=groups_from_fields(fz.groups("user"), fz.groups("item")), level="fields", baseline_kind=baseline)


def attribution_table(attribution: Attribution, user_text: dict[str, str], item_text: dict[str, str]
                      ) -> pd.DataFrame:
    """Group totals of pair 0 as rows: side, field, label ("budget low"), attribution; largest |·| first."""
    rows = []
    for name, value in zip(attribution.group_names, attribution.groups[0]):
        side, field_name = split_group_name(name)
        text = (user_text if side == "user" else item_text).get(field_name, field_name)
        rows.append({"side": side or "both", "field": field_name, "label": text, "attribution": float(value)})
    table = pd.DataFrame(rows, columns=["side", "field", "label", "attribution"])
    order = table["attribution"].abs().sort_values(ascending=False, kind="stable").index
    return table.loc[order].reset_index(drop=True)


def _attributes(row: pd.Series) -> dict[str, str]:
    return {str(k): "" if (not isinstance(v, (list, tuple)) and pd.isna(v)) else str(v) for k, v in row.items()}


def explain_pair(model, user_id: str, item_id: str, method_key: str = "ig", params: dict | None = None,
                 baseline: str | None = None, context: dict | None = None) -> PairExplanation:
    """A catalog pair: trace, S, probability, rank, and attributions to the raw attributes (against
    `baseline`, by default the model's `default_baseline`)."""
    from attnrec.explain.model_targets import default_baseline
    baseline = baseline or default_baseline(model)
    pair = model.trace(user_id, item_id)
    user_row, item_row = model.dataset.users.loc[str(user_id)], model.dataset.items.loc[str(item_id)]
    user_text = describe_fields(user_row, raw_columns_of_group(model.featurizer, "user"))
    item_text = describe_fields(item_row, raw_columns_of_group(model.featurizer, "item"))
    attribution, table, checked = None, _empty_table(), {}
    if method_key:
        attribution = explain(field_target(model, pair.r_u, pair.r_v, baseline), method_key, params)
        checked = attribution.params
        table = attribution_table(attribution, user_text, item_text)
    return PairExplanation(pair, attribution, table, method_key or "", checked, len(model.item_ids),
                           user_attributes=_attributes(user_row), item_attributes=_attributes(item_row),
                           context=dict(context or {}))


def vector_trace(model, x, y) -> PairTrace:
    """A PairTrace for typed vectors X, Y (d,): S, probability, and where S would rank in the catalog."""
    x = torch.as_tensor(np.asarray(x, dtype=np.float32), device=model.device).reshape(-1)
    y = torch.as_tensor(np.asarray(y, dtype=np.float32), device=model.device).reshape(-1)
    if x.shape[0] != model.d or y.shape[0] != model.d:
        raise ValueError(f"X and Y need {model.d} values each (the model's d), got {x.shape[0]} and {y.shape[0]}")
    with torch.no_grad():
        trace = model.attention(x.unsqueeze(0), y.unsqueeze(0)).detach()
        catalog = model.scores_for_vector(x)  # chunked: bounded memory at any catalog size
        s = trace.s[0]
        rank = int((catalog > float(s)).sum()) + 1
        probability = float(model.probability(s))
    return PairTrace(trace=trace, x=x, y=y, r_u=x, r_v=y, dimension_names=list(model.dimension_names),
                     user_id="typed X", item_id="typed Y", s=float(s), probability=probability, rank=rank)


def explain_vectors(model, x, y, method_key: str = "ig", params: dict | None = None,
                    context: dict | None = None) -> PairExplanation:
    """Typed X, Y: trace and attributions to each dimension of X (user side) and Y (item side)."""
    pair = vector_trace(model, x, y)
    names = list(model.dimension_names)
    attribution, table, checked = None, _empty_table(), {}
    if method_key:
        score = AttendScore(model.w_u, model.w_v, model.temperature).to(model.device)
        target = dimension_target(score, pair.x, pair.y, names=names, grouping="separate")
        attribution = explain(target, method_key, params)
        checked = attribution.params
        user_text = {n: f"{n} = {v:.3g}" for n, v in zip(names, pair.x.tolist())}
        item_text = {n: f"{n} = {v:.3g}" for n, v in zip(names, pair.y.tolist())}
        table = attribution_table(attribution, user_text, item_text)
    return PairExplanation(pair, attribution, table, method_key or "", checked, len(model.item_ids), vectors=True,
                           user_attributes={f"X[{n}]": f"{v:.6g}" for n, v in zip(names, pair.x.tolist())},
                           item_attributes={f"Y[{n}]": f"{v:.6g}" for n, v in zip(names, pair.y.tolist())},
                           context=dict(context or {}))


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame(columns=["side", "field", "label", "attribution"])


def cell_story(trace: AttentionTrace, head: int, dim: int, dimension_names, b: int = 0) -> dict:
    """What one heatmap cell (head, dimension) stands for, in numbers.

    logit = (W p)_i / τ, weight = softmax of the logits over dimensions, Z_U = A_U·Y, Z_V = A_V·X,
    contribution = Z_U·Z_V, and its share of S.
    """
    heads, d = trace.a_u.shape[1], trace.a_u.shape[2]
    if not (0 <= head < heads and 0 <= dim < d):
        raise ValueError(f"cell (head {head}, dim {dim}) is outside {heads} heads × {d} dimensions")
    value = {name: float(getattr(trace, name)[b, head, dim]) for name in TRACE_FIELDS}
    s = float(trace.s[b])
    return {"head": head + 1, "dimension": str(dimension_names[dim]), **value, "s": s,
            "share_of_s": value["contributions"] / s if abs(s) > 1e-12 else float("nan")}


# ---- exports ----------------------------------------------------------------------------------

def _nan_to_none(value):
    return None if isinstance(value, float) and not np.isfinite(value) else value


def to_json_dict(ex: PairExplanation) -> dict:
    """The explanation as plain JSON types (lists of lists for heads × dimensions)."""
    p = ex.pair
    attribution = None
    if ex.attribution is not None:
        a = ex.attribution
        attribution = {"method": ex.method, "method_name": method(ex.method).name, "params": ex.params,
                       "level": a.level, "s_baseline": float(a.s_baseline[0]),
                       "completeness_gap": float(a.completeness_gap[0]),
                       "rows": [{k: _nan_to_none(v) for k, v in row.items()} for row in ex.table.to_dict("records")]}
    return {
        "format": FORMAT, "version": 1,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "context": dict(ex.context), "vectors": ex.vectors,
        "user_id": p.user_id, "item_id": p.item_id,
        "s": p.s, "probability": p.probability, "rank": p.rank, "n_items": ex.n_items,
        "residual": ex.residual, "tied": bool(p.trace.tied),
        "dimension_names": list(p.dimension_names), "heads": int(p.trace.a_u.shape[1]),
        "x": p.x.detach().cpu().tolist(), "y": p.y.detach().cpu().tolist(),
        "attention": {name: getattr(p.trace, name)[0].detach().cpu().tolist() for name in TRACE_FIELDS},
        "attribution": attribution,
        "user_attributes": dict(ex.user_attributes), "item_attributes": dict(ex.item_attributes),
    }


def to_frame(ex: PairExplanation) -> pd.DataFrame:
    """Long table: section, side, head, dimension, name, value, text — one number (or text) per row."""
    p = ex.pair
    rows = [{"section": "score", "name": n, "value": v}
            for n, v in (("S", p.s), ("probability", p.probability), ("rank", p.rank), ("n_items", ex.n_items),
                         ("residual S - sum(contributions)", ex.residual))]
    names = list(p.dimension_names)
    for side, vector in (("user", p.x), ("item", p.y)):
        rows += [{"section": "X" if side == "user" else "Y", "side": side, "dimension": names[i], "value": float(v)}
                 for i, v in enumerate(vector.detach().cpu().tolist())]
    for quantity in TRACE_FIELDS:
        values = getattr(p.trace, quantity)[0].detach().cpu().numpy()
        side = "user" if quantity.endswith("_u") else "item" if quantity.endswith("_v") else ""
        rows += [{"section": quantity, "side": side, "head": h + 1, "dimension": names[i],
                  "value": float(values[h, i])} for h in range(values.shape[0]) for i in range(values.shape[1])]
    for row in ex.table.itertuples(index=False):
        rows.append({"section": f"attribution ({ex.method})", "side": row.side, "name": row.field,
                     "value": float(row.attribution), "text": row.label})
    for side, attributes in (("user", ex.user_attributes), ("item", ex.item_attributes)):
        rows += [{"section": f"{side} attribute", "side": side, "name": k, "text": v} for k, v in attributes.items()]
    frame = pd.DataFrame(rows, columns=["section", "side", "head", "dimension", "name", "value", "text"])
    frame["head"] = frame["head"].astype("Int64")
    return frame


def to_csv_bytes(ex: PairExplanation) -> bytes:
    """UTF-8 CSV of `to_frame`; text cells that start with = + - @ (tab, CR) are defused for spreadsheets."""
    return safe_csv_bytes(to_frame(ex).astype({c: object for c in ("section", "side", "dimension", "name", "text")}))


_CSS = """body{font-family:Helvetica,Arial,sans-serif;margin:24px auto;max-width:1180px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
.metrics span{display:inline-block;margin-right:28px;font-size:15px}.caption{color:#666;font-size:12px}"""


def _table_html(rows: list[tuple], header: tuple[str, ...]) -> str:
    head = "".join(f"<th>{escape_html(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape_html(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pair_summary_html(ex: PairExplanation, heading: str | None = None) -> list[str]:
    p = ex.pair
    parts = [f"<h2>{escape_html(heading)}</h2>" if heading else "",
             f"<p>user <b>{escape_html(p.user_id)}</b> × item <b>{escape_html(p.item_id)}</b>"
             f"{' (typed vectors)' if ex.vectors else ''}</p>",
             "<div class='metrics'>"
             f"<span>S = {p.s:.6g}</span><span>P(like) = σ(a·S + b) = {p.probability:.4f}</span>"
             f"<span>rank {p.rank} of {ex.n_items}</span><span>S − ΣZ_U·Z_V = {ex.residual:.2e}</span></div>"]
    return parts


def _pair_tables_html(ex: PairExplanation, suffix: str = "") -> list[str]:
    parts = []
    if not ex.table.empty:
        parts.append(f"<h2>Attributions ({escape_html(method(ex.method).name)}){escape_html(suffix)}</h2>")
        parts.append(_table_html([(r.side, r.field, r.label, f"{r.attribution:+.6g}")
                                  for r in ex.table.itertuples(index=False)],
                                 ("side", "field", "value", "attribution")))
    for side, attributes in (("User", ex.user_attributes), ("Item", ex.item_attributes)):
        if attributes:
            parts.append(f"<h2>{side} attributes{escape_html(suffix)}</h2>")
            parts.append(_table_html(list(attributes.items()), ("attribute", "value")))
    return parts


# "<a" opening or closing a Plotly link tag; no attnrec figure makes links on purpose.
_LINK_TAG = re.compile(r"<(?=\s*/?\s*a(?:[\s>/]|$))", re.IGNORECASE)


def _without_links(value):
    """A figure's JSON with every Plotly link tag written as text ("&lt;a", shown as typed).

    The figure functions already pass data strings through `safety.plotly_text`; this is the report's own
    guard, so a figure built elsewhere cannot put a live link into a file people open and share."""
    if isinstance(value, str):
        return _LINK_TAG.sub("&lt;", value)
    if isinstance(value, dict):
        return {key: _without_links(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_without_links(item) for item in value]
    if isinstance(value, np.ndarray) and value.dtype == object:
        return [_without_links(item) for item in value.tolist()]
    return value


def _figures_html(figures: dict[str, go.Figure]) -> list[str]:
    parts = []
    for name, fig in figures.items():
        parts.append(f"<h2>{escape_html(name)}</h2>")
        parts.append(pio.to_html(_without_links(fig.to_plotly_json()), include_plotlyjs=False, full_html=False,
                                 config={"displaylogo": False}))
    return parts


def _document(title: str, context: dict, parts: list[str], blob: dict) -> str:
    # The numbers as JSON too, for anyone who wants them from the report itself; "<" escaped like Plotly does.
    data = json.dumps(blob, ensure_ascii=True).replace("<", "\\u003c")
    line = " · ".join(f"{escape_html(k)}: {escape_html(v)}" for k, v in context.items())
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{escape_html(title)}</title><style>{_CSS}</style>"
            f"<script>{_plotly_js()}</script></head><body><h1>{escape_html(title)}</h1>"
            + (f"<p class='caption'>{line}</p>" if line else "") + "".join(parts)
            + f"<script type='application/json' id='explanation'>{data}</script></body></html>")


def to_html(ex: PairExplanation, figures: dict[str, go.Figure], title: str = "attnrec explanation") -> str:
    """A single HTML file: numbers, attributes, and the figures (plotly.js embedded: works offline).

    Every data string goes through `escape_html`; figure JSON is written by Plotly, which escapes "<", and
    Plotly's own markup is defused: the figure functions escape their labels (`safety.plotly_text`) and no
    "<a" link tag is left in any figure's strings.
    """
    parts = _pair_summary_html(ex) + _figures_html(figures) + _pair_tables_html(ex)
    return _document(title, ex.context, parts, to_json_dict(ex))


# ---- two pairs side by side (the Compare page) ------------------------------------------------------

def comparison_json(first: PairExplanation, second: PairExplanation) -> dict:
    """Both explanations and ΔS = S(first) − S(second), split per dimension (summed over heads)."""
    c1 = first.pair.trace.contributions[0].double().sum(dim=0)
    c2 = second.pair.trace.contributions[0].double().sum(dim=0)
    return {"format": "attnrec-comparison", "version": 1, "first": to_json_dict(first),
            "second": to_json_dict(second), "delta_s": first.pair.s - second.pair.s,
            "delta_by_dimension": dict(zip(first.pair.dimension_names, (c1 - c2).tolist()))}


def comparison_csv_bytes(first: PairExplanation, second: PairExplanation) -> bytes:
    """Both long tables, one after the other, with a `pair` column ("first" / "second")."""
    frames = [to_frame(ex).assign(pair=label) for ex, label in ((first, "first"), (second, "second"))]
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[["pair"] + [c for c in frame.columns if c != "pair"]]
    return safe_csv_bytes(frame.astype({c: object for c in ("pair", "section", "side", "dimension", "name", "text")}))


def comparison_html(first: PairExplanation, second: PairExplanation, figures: dict[str, go.Figure],
                    labels: tuple[str, str] = ("first", "second"), title: str = "attnrec comparison") -> str:
    """Both pairs' numbers, the comparison figures and both attribute tables, in one offline HTML file."""
    delta = first.pair.s - second.pair.s
    parts = (_pair_summary_html(first, labels[0]) + _pair_summary_html(second, labels[1])
             + [f"<p class='metrics'><span>ΔS = S({escape_html(labels[0])}) − S({escape_html(labels[1])}) = "
                f"{delta:+.6g}</span></p>"]
             + _figures_html(figures) + _pair_tables_html(first, f" — {labels[0]}")
             + _pair_tables_html(second, f" — {labels[1]}"))
    return _document(title, first.context, parts, comparison_json(first, second))


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs
    return get_plotlyjs()
