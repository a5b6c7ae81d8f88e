"""The Walkthrough page's numbers on its editable example (`attnrec.worked_example.ExampleInputs`): every
intermediate, one cell's arithmetic with its numbers substituted, what an edit moved, the steps and the symbols.
No Streamlit here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from attnrec.worked_example import ExampleInputs

__all__ = ["walk_values", "CellLine", "cell_arithmetic", "snapshot", "moved", "changes", "GLOSSARY", "STEPS"]

# The walkthrough's five steps: (short title, the formula as LaTeX; ^{(h)} added per head by the page).
STEPS = (
    ("The element-wise product X ⊙ Y", r"(X \odot Y)_i = X_i\,Y_i \qquad (Y \odot X = X \odot Y)"),
    (
        "Logits: each side's weights applied to X ⊙ Y",
        r"\ell_U = W_U\,(X \odot Y)/\tau \qquad "
        r"\ell_V = W_V\,(Y \odot X)/\tau",
    ),
    (
        "Attention weights: a softmax over the d dimensions",
        r"A_U = \mathrm{softmax}(\ell_U) \qquad A_V = \mathrm{softmax}(\ell_V) \qquad "
        r"\mathrm{softmax}(\ell)_i = \frac{e^{\ell_i}}{\sum_j e^{\ell_j}}",
    ),
    ("Attended vectors: each side's weights applied to the other side", r"Z_U = A_U \odot Y \qquad Z_V = A_V \odot X"),
    ("Each dimension's contribution, and the score S", r"c_i = Z_{U,i}\,Z_{V,i} \qquad S = \sum_h \sum_i c_i"),
)

# Every symbol the page uses: (symbol, shape, meaning). Static text, no data.
GLOSSARY = (
    ("X", "d", "the user's vector: one number per dimension (how much the user has or wants of it)"),
    ("Y", "d", "the item's vector over the same d dimensions"),
    ("d", "", "the number of dimensions (named attributes such as 'cuisine: Mexican', or learned ones)"),
    ("H", "", "the number of attention heads; each head has its own weights and its own attention"),
    ("X ⊙ Y", "d", "the element-wise product X_i·Y_i: where user and item agree (the document's 'XY')"),
    ("W_U", "H×d×d", "the user side's attention weights; row i turns X ⊙ Y into dimension i's logit"),
    ("W_V", "H×d×d", "the item side's weights; tied mode (the document's single W_a) uses W_V = W_U"),
    ("τ", "", "the temperature: logits are divided by τ; small τ sharpens attention, large τ flattens it"),
    ("ℓ_U, ℓ_V", "H×d", "the logits W (X ⊙ Y) / τ, before the softmax"),
    ("A_U", "H×d", "the user side's attention: softmax of ℓ_U, non-negative, summing to 1 over the d dimensions"),
    ("A_V", "H×d", "the item side's attention: softmax of ℓ_V"),
    ("Z_U", "H×d", "A_U ⊙ Y: the item's vector as the user side attends to it"),
    ("Z_V", "H×d", "A_V ⊙ X: the user's vector as the item side attends to it"),
    ("c", "H×d", "each head and dimension's contribution Z_U,i·Z_V,i; they add up to S exactly"),
    ("S", "1", "the score: Σ_h Σ_i c, the dot product of Z_U and Z_V (summed over heads)"),
)


def walk_values(inputs: ExampleInputs, tied: bool, tau: float) -> dict:
    """Every intermediate of the page as numpy: logits_u/v, a_u/v, z_u/v, c (H, d) and s (float)."""
    pair = inputs.trace(tied=tied, temperature=float(tau)).pair()
    values: dict[str, np.ndarray | float] = {
        k: np.array(pair[k]) for k in ("logits_u", "logits_v", "a_u", "a_v", "z_u", "z_v")
    }
    values["c"] = np.array(pair["contributions"])
    values["s"] = float(pair["s"])
    return values


def _g(value: float) -> str:
    """A computed number for the arithmetic lines: 4 significant digits."""
    return f"{float(value):.4g}"


def _factor(value: float) -> str:
    text = _g(value)
    return f"({text})" if text.startswith("-") else text


def _tex(value: float) -> str:
    text = _g(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


def _tex_factor(value: float) -> str:
    text = _tex(value)
    return f"({text})" if text.startswith("-") else text


@dataclass(frozen=True)
class CellLine:
    """One line of substituted arithmetic: the step (1–5) it belongs to, as plain text and as LaTeX.

    `text` reads "name = formula = the numbers substituted = result" (sometimes with one more intermediate):
    split it on " = " and the last part is the result."""

    step: int
    text: str
    latex: str


def cell_arithmetic(
    inputs: ExampleInputs, tied: bool, tau: float, head: int, dim: int, names: list[str] | None = None
) -> list[CellLine]:
    """The arithmetic behind one cell (head, dimension i) with the actual numbers, step by step:
    (X ⊙ Y)_i, the logits Σ_j W[h,i,j]·(X ⊙ Y)_j / τ, the softmax, Z_U and Z_V, the contribution and S."""
    d, heads = inputs.d, inputs.heads
    if not (0 <= head < heads and 0 <= dim < d):
        raise ValueError(f"no cell (head {head}, dimension {dim}) in H={heads}, d={d}")
    names = list(names) if names is not None else [f"dim {k + 1}" for k in range(d)]
    v = walk_values(inputs, tied, tau)
    p = inputs.x * inputs.y
    name = names[dim]
    cell = f"[{name}]" if heads == 1 else f"[head {head + 1}, {name}]"
    up = "" if heads == 1 else rf"^{{({head + 1})}}"

    def tsym(base: str, side: str = "") -> str:  # e.g. \ell^{(2)}_{U,\text{dim 1}}
        return rf"{base}{up}_{{{side + ',' if side else ''}\text{{{name}}}}}"

    w_head = "" if heads == 1 else f"^({head + 1})"
    lines = [
        CellLine(
            1,
            f"(X ⊙ Y)[{name}] = X·Y = {_factor(inputs.x[dim])}·{_factor(inputs.y[dim])} = {_g(p[dim])}",
            rf"(X \odot Y)_{{\text{{{name}}}}} = X\,Y = {_tex_factor(inputs.x[dim])} \cdot "
            rf"{_tex_factor(inputs.y[dim])} = {_tex(p[dim])}",
        )
    ]
    weights = {"U": inputs.w_u, "V": inputs.w_u if tied else inputs.w_v}
    for side in ("U", "V"):
        row = weights[side][head, dim]
        terms = " + ".join(f"{_factor(w)}·{_factor(q)}" for w, q in zip(row, p))
        tex_terms = " + ".join(rf"{_tex_factor(w)} \cdot {_tex_factor(q)}" for w, q in zip(row, p))
        logit = v[f"logits_{side.lower()}"][head, dim]
        lines.append(
            CellLine(
                2,
                f"ℓ_{side}{cell} = Σ_j W_{side}{w_head}[{name}, j]·(X ⊙ Y)_j / τ = ({terms}) / {_g(tau)} = {_g(logit)}",
                tsym(r"\ell", side) + rf" = \frac{{{tex_terms}}}{{{_tex(tau)}}} = {_tex(logit)}",
            )
        )
    for side in ("U", "V"):
        logits = v[f"logits_{side.lower()}"][head]
        top = float(logits.max())
        shift = top if top > 50 else 0.0  # e^ℓ stays readable and finite; softmax is unchanged by a shift
        shifted = logits - shift
        exps = np.exp(shifted)
        note = f" (m = max_j ℓ_j = {_g(shift)} subtracted: same weights)" if shift else ""
        tex_note = rf"\quad (m = \max_j \ell_j = {_tex(shift)}\ \text{{subtracted}})" if shift else ""
        weight = v[f"a_{side.lower()}"][head, dim]
        denominator = " + ".join(f"e^{_g(e)}" for e in shifted)
        tex_denominator = " + ".join(f"e^{{{_tex(e)}}}" for e in shifted)
        lines.append(
            CellLine(
                3,
                f"A_{side}{cell} = e^ℓ_{side},i / Σ_j e^ℓ_{side},j{note} = e^{_g(shifted[dim])} / "
                f"({denominator}) = {_g(exps[dim])} / {_g(exps.sum())} = {_g(weight)}",
                rf"{tsym('A', side)} = \frac{{e^{{{_tex(shifted[dim])}}}}}{{{tex_denominator}}} = "
                rf"\frac{{{_tex(exps[dim])}}}{{{_tex(exps.sum())}}} = {_tex(weight)}{tex_note}",
            )
        )
    for side, other, label in (("U", inputs.y, "Y"), ("V", inputs.x, "X")):
        a, z = v[f"a_{side.lower()}"][head, dim], v[f"z_{side.lower()}"][head, dim]
        lines.append(
            CellLine(
                4,
                f"Z_{side}{cell} = A_{side}·{label} = {_factor(a)}·{_factor(other[dim])} = {_g(z)}",
                rf"{tsym('Z', side)} = A_{{{side}}}\,{label} = {_tex_factor(a)} \cdot {_tex_factor(other[dim])}"
                rf" = {_tex(z)}",
            )
        )
    z_u, z_v, c = v["z_u"][head, dim], v["z_v"][head, dim], v["c"][head, dim]
    lines.append(
        CellLine(
            5,
            f"c{cell} = Z_U·Z_V = {_factor(z_u)}·{_factor(z_v)} = {_g(c)}",
            rf"{tsym('c')} = Z_U\,Z_V = {_tex_factor(z_u)} \cdot {_tex_factor(z_v)} = {_tex(c)}",
        )
    )
    others = d * heads - 1
    lines.append(
        CellLine(
            5,
            f"S = Σ_h Σ_i c = this cell + the other {others} = {_factor(c)} + {_factor(v['s'] - c)} = {_g(v['s'])}",
            rf"S = \sum_h \sum_i c = {_tex_factor(c)} + {_tex_factor(v['s'] - c)} = {_tex(v['s'])}",
        )
    )
    return lines


def snapshot(inputs: ExampleInputs, tied: bool, tau: float) -> dict[str, np.ndarray]:
    """The inputs and every result by name, in the page's order (X, Y, W_U, W_V, τ, X ⊙ Y, ℓ_U, ℓ_V, A_U, A_V,
    Z_U, Z_V, c, S), for `changes`."""
    v = walk_values(inputs, tied, tau)
    return {
        "X": inputs.x.copy(),
        "Y": inputs.y.copy(),
        "W_U": inputs.w_u.copy(),
        "W_V": (inputs.w_u if tied else inputs.w_v).copy(),
        "τ": np.array(float(tau)),
        "X ⊙ Y": inputs.x * inputs.y,
        "ℓ_U": v["logits_u"],
        "ℓ_V": v["logits_v"],
        "A_U": v["a_u"],
        "A_V": v["a_v"],
        "Z_U": v["z_u"],
        "Z_V": v["z_v"],
        "c": v["c"],
        "S": np.array(v["s"]),
    }


def _where(name: str, index: tuple, names: list[str], heads: int) -> str:
    head = "" if heads == 1 else "head {}, "
    if name in ("X", "Y", "X ⊙ Y"):
        return names[index[0]]
    if name in ("W_U", "W_V"):
        return f"{head.format(index[0] + 1)}row {names[index[1]]}, column {names[index[2]]}"
    if name in ("τ", "S"):
        return ""
    return f"{head.format(index[0] + 1)}{names[index[1]]}"


def moved(old: ArrayLike, new: ArrayLike) -> np.ndarray:
    """Which entries differ between two same-shaped arrays (beyond float noise: 1e-12 relative)."""
    old, new = np.asarray(old, dtype=float), np.asarray(new, dtype=float)
    return np.abs(new - old) > 1e-12 * np.maximum(1.0, np.abs(old))


def changes(before: dict, after: dict, names: list[str]) -> tuple[pd.DataFrame, str | None]:
    """What moved between two snapshots: rows (quantity, where, before, after, Δ) for every number that
    changed, inputs first, then X ⊙ Y, ℓ_U, ℓ_V, A_U, A_V, Z_U, Z_V, c and S. When d or H differs the numbers
    cannot be paired one by one: an empty table and a note saying so."""
    columns = ["quantity", "where", "before", "after", "Δ"]
    if before["W_U"].shape != after["W_U"].shape:
        (hb, db, _), (ha, da, _) = before["W_U"].shape, after["W_U"].shape
        return pd.DataFrame(columns=columns), (
            f"d and H changed from d = {db}, H = {hb} to d = {da}, H = {ha}: the numbers cannot be compared one by one."
        )
    heads = after["W_U"].shape[0]
    rows = []
    for name in after:
        old, new = np.asarray(before[name], dtype=float), np.asarray(after[name], dtype=float)
        mask = moved(old, new)
        for index in zip(*np.nonzero(mask)) if old.ndim else ([()] if mask else []):
            rows.append(
                (
                    name,
                    _where(name, tuple(int(k) for k in index), names, heads),
                    float(old[index]),
                    float(new[index]),
                    float(new[index] - old[index]),
                )
            )
    return pd.DataFrame(rows, columns=columns), None
