"""Sanity checks (parameter and label randomization) and planted-truth recovery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from attnrec.attention import attend
from attnrec.explain import explain
from attnrec.explain.metrics import planted_precision_at_k
from attnrec.explain.sanity import cascading_randomization, default_stages, label_randomization, sanity_verdicts
from attnrec.explain.target import AttendScore, FunctionScore, dimension_target
from test_explain_toys import ToyFieldModel, field_rows, field_target

ROOT = Path(__file__).resolve().parents[1]


def test_default_stages_put_attention_first():
    assert default_stages(ToyFieldModel()) == [
        ("attention weights", ["w_u", "w_v"]),
        ("encoders", ["enc_u.0.weight", "enc_u.0.bias", "enc_v.0.weight", "enc_v.0.bias"]),
    ]


def test_cascading_randomization_changes_explanations_and_leaves_the_model_alone():
    model = ToyFieldModel(seed=2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    results = cascading_randomization(model, lambda m: field_target(batch=40, model=m), ["ig", "shapley_exact"])
    assert list(results["stage"].unique()) == ["attention weights", "attention weights + encoders"]
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    verdicts = sanity_verdicts(results).set_index("method")
    assert not verdicts["flagged"].any()
    assert (verdicts["spearman_median"] < 0.9).all()
    assert verdicts.loc["ig", "verdict"].startswith("passes")


def test_a_method_that_ignores_the_randomized_weights_is_flagged():
    # Weights ~1e-4: attention is uniform whatever W is, so S (and any faithful explanation) cannot
    # change when W is redrawn at that scale — the check must say the explanation did not move.
    g = torch.Generator().manual_seed(0)
    score = AttendScore(torch.randn(2, 5, 5, generator=g) * 1e-4, torch.randn(2, 5, 5, generator=g) * 1e-4)
    x, y = torch.randn(30, 5, generator=g), torch.randn(30, 5, generator=g)
    results = cascading_randomization(score, lambda m: dimension_target(m, x, y), ["ig"])
    verdict = sanity_verdicts(results).iloc[0]
    assert verdict["flagged"] and verdict["spearman_median"] > 0.99
    assert verdict["verdict"].startswith("fails")


def _toy_trainer(shuffle: bool, seed: int = 0):
    """Train a ToyFieldModel on labels driven by user budget × item price (shuffled on request)."""
    u, v = field_rows(400, seed=7)
    labels = (u[:, 3] * v[:, 2] > 0).float()
    if shuffle:
        labels = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))]
    torch.manual_seed(seed)
    model = ToyFieldModel(seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(100):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(3 * model(u, v), labels)
        loss.backward()
        opt.step()
    return model.eval()


def test_label_randomization_with_a_toy_trainer():
    trained = _toy_trainer(shuffle=False)
    make = lambda m: field_target(batch=40, seed=5, model=m)  # noqa: E731
    shuffled = label_randomization(trained, lambda: _toy_trainer(shuffle=True), make, ["shapley_exact"])
    control = label_randomization(trained, lambda: _toy_trainer(shuffle=False, seed=1), make, ["shapley_exact"])
    assert shuffled.iloc[0]["stage"] == "shuffled labels"
    # A second model trained on the true labels explains pairs more alike than one trained on noise.
    assert control.iloc[0]["spearman_median"] > shuffled.iloc[0]["spearman_median"]
    assert not sanity_verdicts(shuffled).iloc[0]["flagged"]


def test_planted_precision_at_k_counts_hits():
    attributions = np.array([[0.1, -5.0, 0.2, 3.0], [4.0, 0.0, 0.0, 1.0]])
    assert planted_precision_at_k(attributions, [1, 3], k=2) == pytest.approx((1.0 + 0.5) / 2)


def test_ig_and_exact_shapley_recover_planted_dimensions():
    d, planted = 8, [1, 4, 6]
    w = torch.zeros(2, d, d)
    w[:, planted, :] = 2.0  # logits of planted dims = 2·Σ(X ⊙ Y): attention goes to them for positive X, Y
    g = torch.Generator().manual_seed(0)
    x = 0.5 + torch.rand(200, d, generator=g)
    y = 0.5 + torch.rand(200, d, generator=g)
    target = dimension_target(AttendScore(w, w.clone()), x, y, grouping="paired")
    for key in ("ig", "shapley_exact"):
        a = explain(target, key)
        assert planted_precision_at_k(a.groups, planted, k=3) >= 0.9, key
    # The attention weights themselves also point at the planted dims here (sanity of the toy).
    assert planted_precision_at_k(explain(target, "attention").groups, planted, k=3) == 1.0


@pytest.mark.skipif(not (ROOT / "sample_data/synthetic/planted.json").exists(), reason="no synthetic data")
def test_planted_truth_of_the_shipped_synthetic_data_is_recovered():
    from attnrec.data import load_dataset

    dataset = load_dataset(ROOT / "sample_data/synthetic")
    planted = dataset.planted
    drive = planted["driving_dimensions"]["indices"]
    names = planted["dimension_names"]
    w_u = torch.tensor(planted["w_u"], dtype=torch.float32)
    w_v = torch.tensor(planted["w_v"], dtype=torch.float32)
    score = FunctionScore(lambda x, y: attend(x[:, drive], y[:, drive], w_u, w_v, planted["temperature"]).s)
    pairs = dataset.interactions.sample(300, random_state=0)
    users = dataset.users.loc[pairs["user_id"].astype(str), [n.split(": ")[1] for n in names]]
    items = dataset.items.loc[pairs["item_id"].astype(str), [n.split(": ")[1] for n in names]]
    x = torch.tensor(users.to_numpy(dtype=np.float32))
    y = torch.tensor(items.to_numpy(dtype=np.float32))
    target = dimension_target(score, x, y, names=names, grouping="paired")
    assert len(target.groups) == 12
    # Pairs where a driving genre is 0 on either side leave fewer than 4 dims with anything to say;
    # precision@4 is judged on the pairs where all four drive S.
    active = ((x[:, drive] * y[:, drive]) > 0).all(dim=1).numpy()
    assert active.sum() >= 30
    others = [i for i in range(12) if i not in drive]
    for key in ("ig", "shapley_exact"):
        a = explain(target, key)
        assert np.abs(a.groups[:, others]).max() < 1e-6, key  # non-driving genres get nothing
        assert planted_precision_at_k(a.groups[active], drive, k=len(drive)) >= 0.9, key
