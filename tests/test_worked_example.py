"""§4.3's worked example: true values to 1e-6 from an independent computation, and the claims about the document."""
import numpy as np
import pytest

from attnrec.worked_example import (EXAMPLE_W, EXAMPLE_X, EXAMPLE_Y, comparison_frame,
                                    compare_with_document, example_trace)

X = np.array([0.5, 0.7, 0.3])
Y = np.array([0.3, 0.6, 0.1])
W = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])


def independent_values():
    product = X * Y                              # [0.15, 0.42, 0.03]
    logits = W @ product                         # [1.08, 2.88, 4.68] by hand: 0.15+0.84+0.09, ...
    weights = np.exp(logits) / np.exp(logits).sum()
    z_u, z_v = weights * Y, weights * X
    return {"product": product, "logits": logits, "a": weights, "z_u": z_u, "z_v": z_v,
            "contributions": z_u * z_v, "s": float(z_u @ z_v)}


def test_example_inputs_are_the_documents():
    np.testing.assert_array_equal(np.array(EXAMPLE_X), X)
    np.testing.assert_array_equal(np.array(EXAMPLE_Y), Y)
    np.testing.assert_array_equal(np.array(EXAMPLE_W), W)


def test_true_values_to_1e_6():
    ref = independent_values()
    np.testing.assert_allclose(ref["logits"], [1.08, 2.88, 4.68], atol=1e-12)
    trace = example_trace()
    got = {k: np.array(v[0]) for k, v in trace.pair().items() if k != "s"}
    for name, key in [("logits_u", "logits"), ("logits_v", "logits"), ("a_u", "a"), ("a_v", "a"),
                      ("z_u", "z_u"), ("z_v", "z_v"), ("contributions", "contributions")]:
        np.testing.assert_allclose(got[name], ref[key], atol=1e-6, rtol=0, err_msg=name)
    assert float(trace.s[0]) == pytest.approx(ref["s"], abs=1e-6)
    assert float(trace.s[0]) == pytest.approx(0.0292389, abs=1e-6)


def test_comparison_covers_every_step_with_true_values():
    ref = independent_values()
    steps = {c.step: c for c in compare_with_document()}
    assert list(steps) == ["X ⊙ Y", "logits_U", "A_U", "logits_V", "A_V", "Z_U", "Z_V", "Z_U,i · Z_V,i", "S"]
    expected = {"X ⊙ Y": ref["product"], "logits_U": ref["logits"], "A_U": ref["a"], "logits_V": ref["logits"],
                "A_V": ref["a"], "Z_U": ref["z_u"], "Z_V": ref["z_v"], "Z_U,i · Z_V,i": ref["contributions"],
                "S": [ref["s"]]}
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
