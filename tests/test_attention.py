"""attend() against an independent numpy reference of the issue's formulas, plus its error contract."""

import math

import numpy as np
import pytest
import torch

from attnrec.attention import attend, attention_scores


def numpy_reference(x, y, w_u, w_v, tau):
    """The issue's math written out per head with explicit loops over heads: x, y (B, d); w (H, d, d)."""
    x, y, w_u, w_v = (np.asarray(a, dtype=np.float64) for a in (x, y, w_u, w_v))
    batch, d = x.shape
    heads = w_u.shape[0]
    out = {k: np.zeros((batch, heads, d)) for k in ("logits_u", "logits_v", "a_u", "a_v", "z_u", "z_v")}
    for b in range(batch):
        product = x[b] * y[b]
        for h in range(heads):
            lu = w_u[h] @ product / tau
            lv = w_v[h] @ (y[b] * x[b]) / tau
            eu, ev = np.exp(lu - lu.max()), np.exp(lv - lv.max())
            out["logits_u"][b, h], out["logits_v"][b, h] = lu, lv
            out["a_u"][b, h], out["a_v"][b, h] = eu / eu.sum(), ev / ev.sum()
            out["z_u"][b, h] = out["a_u"][b, h] * y[b]
            out["z_v"][b, h] = out["a_v"][b, h] * x[b]
    out["contributions"] = out["z_u"] * out["z_v"]
    out["s"] = np.array(
        [sum(float(np.dot(out["z_u"][b, h], out["z_v"][b, h])) for h in range(heads)) for b in range(batch)]
    )
    return out


def random_case(rng, d, heads, batch, tied, dtype=torch.float64):
    shape = (batch, d) if batch else (d,)
    x = torch.tensor(rng.normal(size=shape), dtype=dtype)
    y = torch.tensor(rng.normal(size=shape), dtype=dtype)
    w_u = torch.tensor(rng.normal(size=(heads, d, d)), dtype=dtype)
    w_v = None if tied else torch.tensor(rng.normal(size=(heads, d, d)), dtype=dtype)
    return x, y, w_u, w_v


@pytest.mark.parametrize("d", [1, 2, 3, 8, 17, 64])
@pytest.mark.parametrize("heads", [1, 3, 8])
@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("batch", [0, 5])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_attend_matches_numpy_reference(d, heads, tied, batch, dtype):
    rng = np.random.default_rng(1000 * d + 10 * heads + batch + tied)
    tau = float(rng.uniform(0.3, 3.0))
    x, y, w_u, w_v = random_case(rng, d, heads, batch, tied, dtype)
    trace = attend(x, y, w_u, w_v, temperature=tau)
    x2, y2 = (t.reshape(-1, d) for t in (x, y))
    ref = numpy_reference(x2.numpy(), y2.numpy(), w_u.numpy(), (w_u if tied else w_v).numpy(), tau)
    for name, expected in ref.items():
        got = getattr(trace, name).detach().numpy().astype(np.float64)
        # Logits and S grow with d, so they are compared relative to their size; the rest absolutely.
        scale = max(1.0, float(np.abs(expected).max())) if name in ("logits_u", "logits_v", "s") else 1.0
        np.testing.assert_allclose(got, expected, atol=1e-5 * scale, rtol=0, err_msg=name)
    assert trace.tied is tied
    assert trace.s.shape == (x2.shape[0],)


def test_tied_gives_identical_attention_on_both_sides():
    rng = np.random.default_rng(7)
    for d, heads in [(1, 1), (5, 2), (40, 8)]:
        x, y, w, _ = random_case(rng, d, heads, 6, True)
        trace = attend(x, y, w)
        assert torch.equal(trace.a_u, trace.a_v)
        # Passing the same matrix explicitly as W_V is the same model: equal up to rounding.
        untied_same = attend(x, y, w, w.clone())
        torch.testing.assert_close(untied_same.a_u, untied_same.a_v, rtol=0, atol=1e-12)


def test_untied_sides_differ_when_weights_differ():
    rng = np.random.default_rng(8)
    x, y, w_u, w_v = random_case(rng, 6, 2, 0, False)
    trace = attend(x, y, w_u, w_v)
    assert not torch.allclose(trace.a_u, trace.a_v)


def test_single_head_score_is_dot_of_z_and_contributions_sum_to_s():
    rng = np.random.default_rng(9)
    x, y, w_u, w_v = random_case(rng, 10, 1, 4, False)
    trace = attend(x, y, w_u[0], w_v[0])  # (d, d) weights mean one head
    assert trace.a_u.shape == (4, 1, 10)
    dots = torch.einsum("bd,bd->b", trace.z_u[:, 0], trace.z_v[:, 0])
    torch.testing.assert_close(trace.s, dots, rtol=0, atol=1e-12)
    torch.testing.assert_close(trace.contributions.sum(dim=(1, 2)), trace.s, rtol=0, atol=1e-12)


def test_one_user_broadcasts_against_many_items():
    rng = np.random.default_rng(10)
    x = torch.tensor(rng.normal(size=6))
    items = torch.tensor(rng.normal(size=(9, 6)))
    w = torch.tensor(rng.normal(size=(2, 6, 6)))
    batched = attend(x, items, w).s
    one_by_one = torch.stack([attend(x, item, w).s[0] for item in items])
    torch.testing.assert_close(batched, one_by_one, rtol=0, atol=1e-12)


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("chunk_size", [1, 7, 8192])
def test_attention_scores_equals_attend(tied, chunk_size):
    rng = np.random.default_rng(11)
    x, _, w_u, w_v = random_case(rng, 12, 4, 0, tied)
    items = torch.tensor(rng.normal(size=(50, 12)))
    fast = attention_scores(x, items, w_u, w_v, temperature=0.7, chunk_size=chunk_size)
    torch.testing.assert_close(fast, attend(x, items, w_u, w_v, temperature=0.7).s, rtol=0, atol=1e-10)


def test_gradients_are_exact():
    rng = np.random.default_rng(12)
    x, y, w_u, w_v = (t.requires_grad_() for t in random_case(rng, 4, 2, 3, False))
    assert torch.autograd.gradcheck(lambda *a: attend(*a, temperature=1.3).s, (x, y, w_u, w_v))


def test_finite_for_large_finite_inputs():
    for dtype in (torch.float32, torch.float64):
        x = torch.full((3, 64), 1e4, dtype=dtype)
        y = -x.clone()
        w = torch.full((8, 64, 64), 1e4, dtype=dtype).requires_grad_()
        w_v = torch.full((8, 64, 64), -1e4, dtype=dtype)
        trace = attend(x, y, w, w_v, temperature=1e-3)
        for name in ("a_u", "a_v", "z_u", "z_v", "contributions", "s"):
            assert torch.isfinite(getattr(trace, name)).all(), name
        trace.s.sum().backward()
        assert torch.isfinite(w.grad).all()


def test_mixed_and_integer_dtypes_are_promoted():
    x64 = torch.tensor([0.5, 0.7, 0.3], dtype=torch.float64)
    y = torch.tensor([0.3, 0.6, 0.1])
    w = torch.eye(3)
    assert attend(x64, y, w).s.dtype == torch.float64
    ints = attend(torch.tensor([1, 2, 3]), torch.tensor([1, 2, 3]), torch.eye(3, dtype=torch.long))
    p = np.array([1.0, 4.0, 9.0])
    expected = float(((np.exp(p) / np.exp(p).sum()) ** 2 * p).sum())
    assert math.isclose(float(ints.s), expected, rel_tol=1e-6)


@pytest.mark.parametrize("argument", ["x", "y", "w_u", "w_v"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_input_raises_naming_the_argument(argument, bad):
    values = {"x": torch.ones(3), "y": torch.ones(3), "w_u": torch.eye(3), "w_v": torch.eye(3)}
    values[argument] = values[argument].clone()
    values[argument].view(-1)[1] = bad
    with pytest.raises(ValueError, match=rf"^{argument} contains NaN"):
        attend(**values)


@pytest.mark.parametrize("tau", [0, -1.0, float("nan"), float("inf"), "warm", torch.tensor(float("nan"))])
def test_bad_temperature_raises(tau):
    with pytest.raises(ValueError, match="temperature"):
        attend(torch.ones(3), torch.ones(3), torch.eye(3), temperature=tau)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(x=torch.ones(3), y=torch.ones(4), w_u=torch.eye(3)), r"x \(3,\) and y \(4,\)"),
        (dict(x=torch.ones(2, 3), y=torch.ones(5, 3), w_u=torch.eye(3)), r"x \(2, 3\), y \(5, 3\)"),
        (dict(x=torch.ones(3), y=torch.ones(3), w_u=torch.eye(4)), r"w_u must have shape \(3, 3\).*got \(4, 4\)"),
        (dict(x=torch.ones(3), y=torch.ones(3), w_u=torch.eye(3), w_v=torch.ones(3, 2)), r"w_v .* got \(3, 2\)"),
        (
            dict(x=torch.ones(3), y=torch.ones(3), w_u=torch.ones(2, 3, 3), w_v=torch.ones(4, 3, 3)),
            r"\(2, 3, 3\) and \(4, 3, 3\)",
        ),
        (dict(x=torch.ones(1, 1, 3), y=torch.ones(3), w_u=torch.eye(3)), r"x must have shape .* got \(1, 1, 3\)"),
        (dict(x=[1.0, 2.0], y=torch.ones(2), w_u=torch.eye(2)), r"x must be a torch tensor"),
    ],
)
def test_mismatched_shapes_raise_saying_which(kwargs, message):
    with pytest.raises(ValueError, match=message):
        attend(**kwargs)
