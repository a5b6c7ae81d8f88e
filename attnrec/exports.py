"""The downloads of a pair's explanation (`attnrec.pair_explanation.PairExplanation`): a JSON dict, a long CSV
table, a self-contained HTML report; and the same for two pairs side by side (the Compare page).

Pure functions of the explanation; every string from data (ids, attribute values, names) is escaped in HTML
and formula-safe in CSV.
"""

from __future__ import annotations

import datetime as _dt
import json
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from attnrec.explain import method
from attnrec.pair_explanation import TRACE_FIELDS, PairExplanation
from attnrec.safety import escape_html, safe_csv_bytes

__all__ = [
    "to_json_dict",
    "to_frame",
    "to_csv_bytes",
    "to_html",
    "comparison_json",
    "comparison_csv_bytes",
    "comparison_html",
    "FORMAT",
]

FORMAT = "attnrec-explanation"


def _nan_to_none(value):
    return None if isinstance(value, float) and not np.isfinite(value) else value


def to_json_dict(ex: PairExplanation) -> dict:
    """The explanation as plain JSON types (lists of lists for heads × dimensions)."""
    p = ex.pair
    attribution = None
    if ex.attribution is not None:
        a = ex.attribution
        attribution = {
            "method": ex.method,
            "method_name": method(ex.method).name,
            "params": ex.params,
            "level": a.level,
            "s_baseline": float(a.s_baseline[0]),
            "completeness_gap": float(a.completeness_gap[0]),
            "rows": [{k: _nan_to_none(v) for k, v in row.items()} for row in ex.table.to_dict("records")],
        }
    return {
        "format": FORMAT,
        "version": 1,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "context": dict(ex.context),
        "vectors": ex.vectors,
        "user_id": p.user_id,
        "item_id": p.item_id,
        "s": p.s,
        "probability": p.probability,
        "rank": p.rank,
        "rank_ties": p.ties,
        "n_items": ex.n_items,
        "residual": ex.residual,
        "tied": bool(p.trace.tied),
        "dimension_names": list(p.dimension_names),
        "heads": int(p.trace.a_u.shape[1]),
        "x": p.x.detach().cpu().tolist(),
        "y": p.y.detach().cpu().tolist(),
        "attention": {name: getattr(p.trace, name)[0].detach().cpu().tolist() for name in TRACE_FIELDS},
        "attribution": attribution,
        "user_attributes": dict(ex.user_attributes),
        "item_attributes": dict(ex.item_attributes),
    }


def to_frame(ex: PairExplanation) -> pd.DataFrame:
    """Long table: section, side, head, dimension, name, value, text — one number (or text) per row."""
    p = ex.pair
    rows = [
        {"section": "score", "name": n, "value": v}
        for n, v in (
            ("S", p.s),
            ("probability", p.probability),
            ("rank", p.rank),
            ("rank ties (other items with exactly this S)", p.ties),
            ("n_items", ex.n_items),
            ("residual S - sum(contributions)", ex.residual),
        )
    ]
    names = list(p.dimension_names)
    for side, vector in (("user", p.x), ("item", p.y)):
        rows += [
            {"section": "X" if side == "user" else "Y", "side": side, "dimension": names[i], "value": float(v)}
            for i, v in enumerate(vector.detach().cpu().tolist())
        ]
    for quantity in TRACE_FIELDS:
        values = getattr(p.trace, quantity)[0].detach().cpu().numpy()
        side = "user" if quantity.endswith("_u") else "item" if quantity.endswith("_v") else ""
        rows += [
            {"section": quantity, "side": side, "head": h + 1, "dimension": names[i], "value": float(values[h, i])}
            for h in range(values.shape[0])
            for i in range(values.shape[1])
        ]
    for row in ex.table.itertuples(index=False):
        rows.append(
            {
                "section": f"attribution ({ex.method})",
                "side": row.side,
                "name": row.field,
                "value": float(row.attribution),
                "text": row.label,
            }
        )
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
    parts = [
        f"<h2>{escape_html(heading)}</h2>" if heading else "",
        f"<p>user <b>{escape_html(p.user_id)}</b> × item <b>{escape_html(p.item_id)}</b>"
        f"{' (typed vectors)' if ex.vectors else ''}</p>",
        "<div class='metrics'>"
        f"<span>S = {p.s:.6g}</span><span>P(like) = σ(a·S + b) = {p.probability:.4f}</span>"
        f"<span>rank {escape_html(p.rank_text(ex.n_items))}</span><span>S − ΣZ_U·Z_V = {ex.residual:.2e}</span></div>",
    ]
    return parts


def _pair_tables_html(ex: PairExplanation, suffix: str = "") -> list[str]:
    parts = []
    if not ex.table.empty:
        parts.append(f"<h2>Attributions ({escape_html(method(ex.method).name)}){escape_html(suffix)}</h2>")
        parts.append(
            _table_html(
                [(r.side, r.field, r.label, f"{r.attribution:+.6g}") for r in ex.table.itertuples(index=False)],
                ("side", "field", "value", "attribution"),
            )
        )
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
        parts.append(
            pio.to_html(
                _without_links(fig.to_plotly_json()),
                include_plotlyjs=False,
                full_html=False,
                config={"displaylogo": False},
            )
        )
    return parts


def _document(title: str, context: dict, parts: list[str], blob: dict) -> str:
    # The numbers as JSON too, for anyone who wants them from the report itself; "<" escaped like Plotly does.
    data = json.dumps(blob, ensure_ascii=True).replace("<", "\\u003c")
    line = " · ".join(f"{escape_html(k)}: {escape_html(v)}" for k, v in context.items())
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{escape_html(title)}</title><style>{_CSS}</style>"
        f"<script>{_plotly_js()}</script></head><body><h1>{escape_html(title)}</h1>"
        + (f"<p class='caption'>{line}</p>" if line else "")
        + "".join(parts)
        + f"<script type='application/json' id='explanation'>{data}</script></body></html>"
    )


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
    return {
        "format": "attnrec-comparison",
        "version": 1,
        "first": to_json_dict(first),
        "second": to_json_dict(second),
        "delta_s": first.pair.s - second.pair.s,
        "delta_by_dimension": dict(zip(first.pair.dimension_names, (c1 - c2).tolist())),
    }


def comparison_csv_bytes(first: PairExplanation, second: PairExplanation) -> bytes:
    """Both long tables, one after the other, with a `pair` column ("first" / "second")."""
    frames = [to_frame(ex).assign(pair=label) for ex, label in ((first, "first"), (second, "second"))]
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[["pair"] + [c for c in frame.columns if c != "pair"]]
    return safe_csv_bytes(frame.astype({c: object for c in ("pair", "section", "side", "dimension", "name", "text")}))


def comparison_html(
    first: PairExplanation,
    second: PairExplanation,
    figures: dict[str, go.Figure],
    labels: tuple[str, str] = ("first", "second"),
    title: str = "attnrec comparison",
) -> str:
    """Both pairs' numbers, the comparison figures and both attribute tables, in one offline HTML file."""
    delta = first.pair.s - second.pair.s
    parts = (
        _pair_summary_html(first, labels[0])
        + _pair_summary_html(second, labels[1])
        + [
            f"<p class='metrics'><span>ΔS = S({escape_html(labels[0])}) − S({escape_html(labels[1])}) = "
            f"{delta:+.6g}</span></p>"
        ]
        + _figures_html(figures)
        + _pair_tables_html(first, f" — {labels[0]}")
        + _pair_tables_html(second, f" — {labels[1]}")
    )
    return _document(title, first.context, parts, comparison_json(first, second))


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()
