"""§4.3's worked example: true values to 1e-6 from an independent computation, and the claims about the document."""

import numpy as np
import pytest

from attnrec.walkthrough_math import GLOSSARY, cell_arithmetic, changes, snapshot
from attnrec.worked_example import (
    EXAMPLE_W,
    EXAMPLE_X,
    EXAMPLE_Y,
    ExampleInputs,
    compare_with_document,
    comparison_frame,
    example_trace,
)

X = np.array([0.5, 0.7, 0.3])
Y = np.array([0.3, 0.6, 0.1])
W = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])


def independent_values():
    product = X * Y  # [0.15, 0.42, 0.03]
    logits = W @ product  # [1.08, 2.88, 4.68] by hand: 0.15+0.84+0.09, ...
    weights = np.exp(logits) / np.exp(logits).sum()
    z_u, z_v = weights * Y, weights * X
    return {
        "product": product,
        "logits": logits,
        "a": weights,
        "z_u": z_u,
        "z_v": z_v,
        "contributions": z_u * z_v,
        "s": float(z_u @ z_v),
    }


def test_example_inputs_are_the_documents():
    np.testing.assert_array_equal(np.array(EXAMPLE_X), X)
    np.testing.assert_array_equal(np.array(EXAMPLE_Y), Y)
    np.testing.assert_array_equal(np.array(EXAMPLE_W), W)


def test_true_values_to_1e_6():
    ref = independent_values()
    np.testing.assert_allclose(ref["logits"], [1.08, 2.88, 4.68], atol=1e-12)
    trace = example_trace()
    got = {k: np.array(v[0]) for k, v in trace.pair().items() if k != "s"}
    for name, key in [
        ("logits_u", "logits"),
        ("logits_v", "logits"),
        ("a_u", "a"),
        ("a_v", "a"),
        ("z_u", "z_u"),
        ("z_v", "z_v"),
        ("contributions", "contributions"),
    ]:
        np.testing.assert_allclose(got[name], ref[key], atol=1e-6, rtol=0, err_msg=name)
    assert float(trace.s[0]) == pytest.approx(ref["s"], abs=1e-6)
    assert float(trace.s[0]) == pytest.approx(0.0292389, abs=1e-6)


def test_comparison_covers_every_step_with_true_values():
    ref = independent_values()
    steps = {c.step: c for c in compare_with_document()}
    assert list(steps) == ["X ⊙ Y", "logits_U", "A_U", "logits_V", "A_V", "Z_U", "Z_V", "Z_U,i · Z_V,i", "S"]
    expected = {
        "X ⊙ Y": ref["product"],
        "logits_U": ref["logits"],
        "A_U": ref["a"],
        "logits_V": ref["logits"],
        "A_V": ref["a"],
        "Z_U": ref["z_u"],
        "Z_V": ref["z_v"],
        "Z_U,i · Z_V,i": ref["contributions"],
        "S": [ref["s"]],
    }
    for step, values in expected.items():
        np.testing.assert_allclose(steps[step].formula_gives, values, atol=1e-6, err_msg=step)
        assert steps[step].explanation and "\n" not in steps[step].explanation
    # Every printed number differs from the true one (that is the point of the table).
    for step in ["logits_U", "A_U", "logits_V", "A_V", "Z_U", "Z_V", "S"]:
        assert not np.allclose(steps[step].document, steps[step].formula_gives, atol=1e-3), step


def test_claims_made_about_the_document_hold():
    steps = {c.step: c for c in compare_with_document()}
    # Its S = 0.6 is the plain dot product X·Y, and not the sum of its own printed terms.
    assert steps["S"].document[0] == pytest.approx(float(X @ Y), abs=1e-12)
    assert sum(steps["Z_U,i · Z_V,i"].document) == pytest.approx(0.2144, abs=1e-12)
    # W_a·p always has equal gaps (3·Σp) for any p, which [5, 12, 21] does not have.
    for p in (X * Y, np.random.default_rng(0).normal(size=3)):
        gaps = np.diff(W @ p)
        assert gaps[0] == pytest.approx(gaps[1]) == pytest.approx(3 * p.sum())
    assert np.diff(steps["logits_U"].document).tolist() == [7.0, 9.0]
    # Softmax keeps order, so the document's A_U (max at position 2) cannot come from logits peaking at 3.
    assert np.argmax(steps["logits_U"].document) != np.argmax(steps["A_U"].document)


def test_comparison_frame_has_the_four_columns():
    frame = comparison_frame()
    assert list(frame.columns) == ["step", "the document says", "the formula gives", "what the document likely did"]
    assert len(frame) == 9
    assert frame.loc[frame.step == "S", "the document says"].item() == "[0.6]"
    assert frame.loc[frame.step == "S", "the formula gives"].item() == "[0.02924]"


# ---- one cell's arithmetic, what an edit moved, the glossary -----------------------------------------


def numpy_reference(x, y, w_u, w_v, tau):
    """The formulas in numpy, per head; w (H, d, d)."""
    p = x * y
    out = {}
    for side, w, other in (("u", w_u, y), ("v", w_v, x)):
        logits = np.einsum("hij,j->hi", w, p) / tau
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        out[f"logits_{side}"], out[f"a_{side}"] = logits, e / e.sum(axis=1, keepdims=True)
        out[f"z_{side}"] = out[f"a_{side}"] * other
    out["c"] = out["z_u"] * out["z_v"]
    out["s"] = float(out["c"].sum())
    return out


def factors(expression: str) -> list[list[float]]:
    """ "(1·0.15 + (-2)·0.42) / 1" → [[1, 0.15], [-2, 0.42]] (the part before ' / ' if any)."""
    body = expression.split(" / ")[0].strip()
    if body.startswith("(") and body.endswith(")") and " + " in body:
        body = body[1:-1]
    return [[float(f.strip("()")) for f in term.split("·")] for term in body.split(" + ")]


def close(shown: float, true: float) -> bool:
    # 4 significant digits shown
    return abs(shown - true) <= 6e-4 * abs(true) + 1e-12


def check_lines(inputs, tied, tau, head, dim):
    lines = cell_arithmetic(inputs, tied, tau, head, dim)
    assert [line.step for line in lines] == [1, 2, 2, 3, 3, 4, 4, 5, 5]
    check_texts([line.text for line in lines], inputs, tied, tau, head, dim)
    return lines


def check_texts(texts, inputs, tied, tau, head, dim):
    """The nine lines of one cell's arithmetic, every number parsed back and checked against numpy."""
    w_v = inputs.w_u if tied else inputs.w_v
    ref = numpy_reference(inputs.x, inputs.y, inputs.w_u, w_v, tau)
    assert len(texts) == 9
    parts = [text.split(" = ") for text in texts]
    p = inputs.x * inputs.y
    # 1: X_i·Y_i = (X ⊙ Y)_i
    ((xi, yi),) = factors(parts[0][-2])
    assert close(xi, inputs.x[dim]) and close(yi, inputs.y[dim]) and close(float(parts[0][-1]), p[dim])
    # 2: Σ_j W[h,i,j]·(X ⊙ Y)_j / τ
    for line, side, w in ((parts[1], "u", inputs.w_u), (parts[2], "v", w_v)):
        terms = np.array(factors(line[-2]))
        assert terms.shape == (inputs.d, 2)
        assert all(close(a, b) for a, b in zip(terms[:, 0], w[head, dim]))
        assert all(close(a, b) for a, b in zip(terms[:, 1], p))
        assert close(float(line[-2].split(" / ")[-1]), tau)
        assert close(float(line[-1]), ref[f"logits_{side}"][head, dim])
    # 3: e^ℓ_i / Σ_j e^ℓ_j
    for line, side in ((parts[3], "u"), (parts[4], "v")):
        numerator, denominator = line[-3].split(" / ", 1)
        exponents = [float(t.strip().removeprefix("e^")) for t in denominator.strip("()").split(" + ")]
        logits = ref[f"logits_{side}"][head]
        shift = logits.max() if logits.max() > 50 else 0.0
        assert all(close(a, b) for a, b in zip(exponents, logits - shift))
        assert close(float(numerator.removeprefix("e^")), logits[dim] - shift)
        top, bottom = (float(v) for v in line[-2].split(" / "))
        assert close(top / bottom, ref[f"a_{side}"][head, dim])
        assert close(float(line[-1]), ref[f"a_{side}"][head, dim])
    # 4: Z_U = A_U·Y, Z_V = A_V·X
    for line, side, other in ((parts[5], "u", inputs.y), (parts[6], "v", inputs.x)):
        ((a, o),) = factors(line[-2])
        assert close(a, ref[f"a_{side}"][head, dim]) and close(o, other[dim])
        assert close(float(line[-1]), ref[f"z_{side}"][head, dim])
    # 5: c = Z_U·Z_V, S = c + the rest
    ((zu, zv),) = factors(parts[7][-2])
    assert close(zu, ref["z_u"][head, dim]) and close(zv, ref["z_v"][head, dim])
    assert close(float(parts[7][-1]), ref["c"][head, dim])
    (c,), (rest,) = factors(parts[8][-2])
    assert close(c, ref["c"][head, dim]) and close(rest, ref["s"] - ref["c"][head, dim])
    assert close(float(parts[8][-1]), ref["s"])


def test_cell_arithmetic_of_the_documents_example_reads_like_the_issue():
    lines = check_lines(ExampleInputs.document(), True, 1.0, 0, 0)
    assert "1·0.15 + 2·0.42 + 3·0.03" in lines[1].text and lines[1].text.endswith("= 1.08")
    assert lines[1].latex.startswith(r"\ell_{U,\text{dim 1}}")


@pytest.mark.parametrize(
    "d, heads, tied, tau, head, dim", [(5, 3, False, 0.37, 2, 4), (4, 2, True, 2.5, 1, 0), (3, 1, False, 0.01, 0, 1)]
)
def test_cell_arithmetic_matches_numpy_for_any_cell(d, heads, tied, tau, head, dim):
    inputs = ExampleInputs.document().resized(d, heads)
    inputs = inputs.replace(w_v=np.random.default_rng(d).normal(size=inputs.w_v.shape) * 2)
    lines = check_lines(inputs, tied, tau, head, dim)
    if heads > 1:
        assert lines[1].text.startswith(f"ℓ_U[head {head + 1}, dim {dim + 1}]")


def test_cell_arithmetic_with_huge_logits_subtracts_the_largest():
    inputs = ExampleInputs.document().replace(w_u=np.array(EXAMPLE_W)[None] * 300)  # logits up to 1404
    lines = check_lines(inputs, True, 1.0, 0, 2)
    assert "subtracted" in lines[3].text and "inf" not in lines[3].text


def test_cell_arithmetic_refuses_a_cell_outside_the_example():
    with pytest.raises(ValueError, match="no cell"):
        cell_arithmetic(ExampleInputs.document(), True, 1.0, 1, 0)


def test_changes_name_every_number_an_edit_moved():
    names = ["dim 1", "dim 2", "dim 3"]
    before_inputs = ExampleInputs.document()
    after_inputs = before_inputs.replace(x=np.array([0.9, 0.7, 0.3]))
    table, note = changes(snapshot(before_inputs, True, 1.0), snapshot(after_inputs, True, 1.0), names)
    assert note is None
    old = numpy_reference(X, Y, W[None], W[None], 1.0)
    new = numpy_reference(np.array([0.9, 0.7, 0.3]), Y, W[None], W[None], 1.0)
    rows = {(r.quantity, r.where): r for r in table.itertuples()}
    assert rows[("X", "dim 1")].before == 0.5 and rows[("X", "dim 1")].after == 0.9
    assert not any(q in ("Y", "W_U", "W_V", "τ") for q, _ in rows)  # only X was edited
    for quantity, key in (("A_U", "a_u"), ("A_V", "a_v"), ("Z_U", "z_u"), ("Z_V", "z_v"), ("c", "c")):
        for i, name in enumerate(names):
            row = rows[(quantity, name)]
            assert row.before == pytest.approx(old[key][0, i], abs=1e-12)
            assert row.after == pytest.approx(new[key][0, i], abs=1e-12)
            assert row.Δ == pytest.approx(new[key][0, i] - old[key][0, i], abs=1e-12)
    assert rows[("S", "")].Δ == pytest.approx(new["s"] - old["s"], abs=1e-12)
    assert list(table.quantity.drop_duplicates()) == ["X", "X ⊙ Y", "ℓ_U", "ℓ_V", "A_U", "A_V", "Z_U", "Z_V", "c", "S"]
    assert rows[("X ⊙ Y", "dim 1")].after == pytest.approx(0.9 * 0.3)
    for side in ("ℓ_U", "ℓ_V"):
        for i, name in enumerate(names):
            assert rows[(side, name)].Δ == pytest.approx(W[i, 0] * (0.9 - 0.5) * 0.3, abs=1e-12)


def test_changes_of_one_head_leave_the_other_head_out():
    names = ["dim 1", "dim 2", "dim 3"]
    before = ExampleInputs.document().resized(3, 2)
    w_v = before.w_v.copy()
    w_v[1, 0, 2] = 4.0
    table, _ = changes(snapshot(before, False, 0.5), snapshot(before.replace(w_v=w_v), False, 0.5), names)
    assert table.loc[table.quantity == "W_V", "where"].tolist() == ["head 2, row dim 1, column dim 3"]
    moved = table[table.quantity.isin(["A_V", "Z_V", "c"])]
    assert moved["where"].str.startswith("head 2").all() and len(moved) == 9  # A_U, Z_U and head 1 unmoved
    assert table.loc[table.quantity == "ℓ_V", "where"].tolist() == ["head 2, dim 1"]
    assert "A_U" not in set(table.quantity)


def test_changes_across_a_new_shape_say_so():
    small, big = ExampleInputs.document(), ExampleInputs.document().resized(4, 1)
    table, note = changes(snapshot(small, True, 1.0), snapshot(big, True, 1.0), ["a", "b", "c", "d"])
    assert table.empty and "d = 3, H = 1 to d = 4, H = 1" in note
    same, _ = changes(snapshot(small, True, 1.0), snapshot(small, True, 1.0), ["a", "b", "c"])
    assert same.empty


def test_glossary_names_every_symbol_the_issue_lists():
    symbols = {s for symbol, _, _ in GLOSSARY for s in symbol.split(", ")}
    assert {"X", "Y", "W_U", "W_V", "τ", "A_U", "A_V", "Z_U", "Z_V", "S", "H", "d"} <= symbols
    assert all(meaning for _, _, meaning in GLOSSARY)
