"""The design document's worked example (§4.3): its printed numbers next to what its formulas give.

The document's printed values are quoted as data (they are what it says); every "formula gives" value
is computed here by `attend`, and every explanation quotes numbers computed from those values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from numpy.typing import ArrayLike

from attnrec.attention import AttentionTrace, attend

__all__ = [
    "EXAMPLE_X",
    "EXAMPLE_Y",
    "EXAMPLE_W",
    "EXAMPLE_NAMES",
    "StepComparison",
    "ExampleInputs",
    "example_trace",
    "compare_with_document",
    "comparison_frame",
]

EXAMPLE_X = (0.5, 0.7, 0.3)
EXAMPLE_Y = (0.3, 0.6, 0.1)
EXAMPLE_W = ((1.0, 2.0, 3.0), (4.0, 5.0, 6.0), (7.0, 8.0, 9.0))
EXAMPLE_NAMES = ("dim 1", "dim 2", "dim 3")

# What §4.3 prints, verbatim, step by step.
_DOC_LOGITS_U = (5.0, 12.0, 21.0)
_DOC_LOGITS_V = (9.0, 21.0, 36.0)
_DOC_A_U = (0.24, 0.48, 0.28)
_DOC_A_U_AS_USED = (0.3, 0.48, 0.28)  # the Z_U line multiplies this, not A_U
_DOC_A_V = (0.25, 0.5, 0.25)
_DOC_Z_U = (0.18, 0.32, 0.28)
_DOC_Z_V = (0.18, 0.35, 0.25)
_DOC_S = 0.6


@dataclass(frozen=True)
class StepComparison:
    step: str  # short name, e.g. "A_U"
    latex: str  # the formula, as st.latex takes it
    document: tuple[float, ...] | None  # what the document prints (None: it prints nothing)
    formula_gives: tuple[float, ...]
    explanation: str  # one line: what the document most likely did


def example_trace(dtype: torch.dtype = torch.float64) -> AttentionTrace:
    """The example run through `attend` with the document's single W_a (tied mode, one head)."""
    x = torch.tensor(EXAMPLE_X, dtype=dtype)
    y = torch.tensor(EXAMPLE_Y, dtype=dtype)
    return attend(x, y, torch.tensor(EXAMPLE_W, dtype=dtype))


@dataclass(frozen=True)
class ExampleInputs:
    """The walkthrough's editable inputs: x, y (d,), w_u, w_v (H, d, d) as float64 arrays.

    w_v is always kept so switching from tied to untied has a W_V to show; while tied it follows W_U (the page
    copies W_U into it after every edit), so untying starts from the current W_U and S does not jump.
    """

    x: np.ndarray
    y: np.ndarray
    w_u: np.ndarray
    w_v: np.ndarray

    @classmethod
    def document(cls) -> "ExampleInputs":
        w = np.array(EXAMPLE_W, dtype=np.float64)[None]
        return cls(np.array(EXAMPLE_X), np.array(EXAMPLE_Y), w, w.copy())

    @property
    def d(self) -> int:
        return self.x.shape[0]

    @property
    def heads(self) -> int:
        return self.w_u.shape[0]

    def replace(self, **arrays: ArrayLike) -> "ExampleInputs":
        values = {"x": self.x, "y": self.y, "w_u": self.w_u, "w_v": self.w_v}
        values.update({k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()})
        return ExampleInputs(**values)

    def resized(self, d: int, heads: int) -> "ExampleInputs":
        """Keep every existing entry that still fits; new entries are seeded, one-decimal numbers."""
        if d < 1 or heads < 1:
            raise ValueError(f"d and heads must be at least 1, got d={d}, heads={heads}")
        if (d, heads) == (self.d, self.heads):
            return self
        rng = np.random.default_rng(1000 * d + heads)

        def grow(old: np.ndarray, shape: tuple[int, ...], low: float, high: float) -> np.ndarray:
            new = np.round(rng.uniform(low, high, size=shape), 1)
            keep = tuple(slice(0, min(a, b)) for a, b in zip(old.shape, shape))
            new[keep] = old[keep]
            return new

        return ExampleInputs(
            grow(self.x, (d,), 0.1, 0.9),
            grow(self.y, (d,), 0.1, 0.9),
            grow(self.w_u, (heads, d, d), -2, 2),
            grow(self.w_v, (heads, d, d), -2, 2),
        )

    def trace(self, tied: bool, temperature: float) -> AttentionTrace:
        tensors = [torch.from_numpy(a) for a in (self.x, self.y, self.w_u, self.w_v)]
        return attend(tensors[0], tensors[1], tensors[2], None if tied else tensors[3], temperature)


def _fmt(values) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"


def _softmax(values) -> np.ndarray:
    # Only used to show what softmax does to the document's own logits (not part of the model path).
    return torch.softmax(torch.tensor(values, dtype=torch.float64), dim=0).numpy()


def compare_with_document() -> list[StepComparison]:
    """Every step of §4.3: the document's number, the true number, and why they differ."""
    trace = example_trace()
    # Head 0 of pair 0 (the example has one of each); S is read from the trace directly.
    true = {name: tuple(values[0]) for name, values in trace.pair().items() if name != "s"}
    x, y = np.array(EXAMPLE_X), np.array(EXAMPLE_Y)
    product = x * y
    # W_a's rows differ by the constant row [3, 3, 3], so W_a·p always steps by 3·Σp.
    row_step = np.diff(np.array(EXAMPLE_W), axis=0)
    gap = float(row_step[0] @ product)
    doc_zu_own = np.array(_DOC_A_U_AS_USED) * y
    doc_zv_own = np.array(_DOC_A_V) * x
    doc_terms = np.array(_DOC_Z_U) * np.array(_DOC_Z_V)
    return [
        StepComparison(
            "X ⊙ Y",
            r"X \odot Y",
            None,
            tuple(product.tolist()),
            "The document never prints it; its 'XY' must be the element-wise product, the only reading "
            "that gives a d-vector for W_a to multiply.",
        ),
        StepComparison(
            "logits_U",
            r"W_a (X \odot Y)",
            _DOC_LOGITS_U,
            true["logits_u"],
            f"No input gives {_fmt(_DOC_LOGITS_U)}: W_a's rows step by {_fmt(row_step[0])}, so W_a·p always "
            f"has equal gaps ({gap:.4g} here), but 5→12→21 steps by 7 then 9.",
        ),
        StepComparison(
            "A_U",
            r"A_U = \mathrm{softmax}(W_a (X \odot Y))",
            _DOC_A_U,
            true["a_u"],
            f"Not a softmax of its own logits: softmax keeps order, so 21 must get the most weight; "
            f"softmax({_fmt(_DOC_LOGITS_U)}) = {_fmt(_softmax(_DOC_LOGITS_U))}. The weights look invented.",
        ),
        StepComparison(
            "logits_V",
            r"W_a (Y \odot X)",
            _DOC_LOGITS_V,
            true["logits_v"],
            f"Y ⊙ X = X ⊙ Y, so one W_a must give the same logits as for A_U; "
            f"{_fmt(_DOC_LOGITS_V)} (gaps 12, 15) comes from no input either.",
        ),
        StepComparison(
            "A_V",
            r"A_V = \mathrm{softmax}(W_a (Y \odot X))",
            _DOC_A_V,
            true["a_v"],
            f"With the one W_a, A_V = A_U for every input; softmax({_fmt(_DOC_LOGITS_V)}) = "
            f"{_fmt(_softmax(_DOC_LOGITS_V))}, not {_fmt(_DOC_A_V)}.",
        ),
        StepComparison(
            "Z_U",
            r"Z_U = A_U \odot Y",
            _DOC_Z_U,
            true["z_u"],
            f"Its own line multiplies {_fmt(_DOC_A_U_AS_USED)} (0.3, not A_U's 0.24) by Y, which is "
            f"{_fmt(doc_zu_own)}, not {_fmt(_DOC_Z_U)}; the last entry is A_U's 0.28 copied unmultiplied.",
        ),
        StepComparison(
            "Z_V",
            r"Z_V = A_V \odot X",
            _DOC_Z_V,
            true["z_v"],
            f"{_fmt(_DOC_A_V)} ⊙ X is {_fmt(doc_zv_own)}; only the middle entry is multiplied out, "
            f"0.25 is A_V's copied and 0.18 repeats Z_U's first entry.",
        ),
        StepComparison(
            "Z_U,i · Z_V,i",
            r"c_i = Z_{U,i}\, Z_{V,i}",
            tuple(doc_terms.tolist()),
            true["contributions"],
            "The document's own products of its Z_U and Z_V, which inherit every error above.",
        ),
        StepComparison(
            "S",
            r"S = \sum_i Z_{U,i}\, Z_{V,i}",
            (_DOC_S,),
            (float(trace.s[0]),),
            f"{_DOC_S} is not the sum of its own terms ({doc_terms.sum():.4g}); it equals X·Y = "
            f"{_fmt(product)} summed = {product.sum():.4g}, the plain dot product with no attention at all.",
        ),
    ]


def comparison_frame() -> pd.DataFrame:
    """The comparison as a table: step, the document says, the formula gives (4 significant digits), why."""
    rows = [
        {
            "step": c.step,
            "the document says": "(not printed)" if c.document is None else _fmt(c.document),
            "the formula gives": _fmt(c.formula_gives),
            "what the document likely did": c.explanation,
        }
        for c in compare_with_document()
    ]
    return pd.DataFrame(rows)
