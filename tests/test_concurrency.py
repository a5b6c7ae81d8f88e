"""One shared model, many sessions explaining at once: every hook-based method must give exactly the
sequential numbers, and the shared model must come out untouched (no hooks left, same weights).

Streamlit serves all sessions from threads of one process and st.cache_resource hands them the same
Recommender. Captum's DeepLift registers a forward pre-hook on the model it is given (it doubles the
batch with the baselines) — run on the shared model, one session's hook would reshape another's
inputs. attnrec runs such methods on a private copy; this test is what would catch a regression.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from attnrec.data.upload_state import UploadState, dataset_from_mapping
from attnrec.explain import METHODS
from attnrec.pair_explanation import explain_pair, explain_vectors

HOOK_METHODS = [key for key, spec in METHODS.items() if spec.uses_hooks]
THREADS = 8
ROUNDS = 3

USERS = b"uid,age,genre\n" + b"".join(
    f"u{i},{20 + 3 * i},{['rock', 'pop', 'jazz'][i % 3]}\n".encode() for i in range(12)
)
ITEMS = b"iid,price,genre\n" + b"".join(
    f"i{i},{5 + 2 * i},{['rock', 'pop', 'jazz'][(i * 2) % 3]}\n".encode() for i in range(10)
)
INTERACTIONS = b"uid,iid,rating\n" + b"".join(
    f"u{u},i{(u * 3 + k) % 10},{(u + k) % 5 + 1}\n".encode() for u in range(12) for k in range(4)
)
MAPPING = dict(
    user_id="uid",
    item_id="iid",
    label_column="rating",
    label_threshold=3,
    user_roles={"age": "numeric", "genre": "categorical"},
    item_roles={"price": "numeric", "genre": "categorical"},
)


@pytest.fixture(scope="module")
def shared_model():
    from attnrec.training import TrainConfig, train

    state = UploadState()
    for role, data in (("users", USERS), ("items", ITEMS), ("interactions", INTERACTIONS)):
        assert state.accept_table(role, f"{role}.csv", data)
    dataset, _ = dataset_from_mapping(state.tables, MAPPING, "shared")
    # hidden > 0 gives the encoders GELU layers: more modules for hooks to land on.
    return train(dataset, TrainConfig(d=6, heads=2, hidden=8, epochs=3, device="cpu"), progress=False)


def pairs(model) -> list[tuple[str, str]]:
    users, items = model.user_ids, model.item_ids
    return [(users[k % len(users)], items[(3 * k + 1) % len(items)]) for k in range(THREADS)]


def weights_of(model) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def hooks_on(model) -> int:
    return sum(
        len(m._forward_hooks)
        + len(m._forward_pre_hooks)
        + len(m._backward_hooks)
        + len(getattr(m, "_backward_pre_hooks", {}))
        for m in model.modules()
    )


def run_together(jobs) -> list:
    """Call every job in its own thread, all released at the same moment; re-raise any error."""
    start = threading.Barrier(len(jobs))

    def call(job):
        start.wait()
        return job()

    with ThreadPoolExecutor(len(jobs)) as pool:
        return [f.result() for f in [pool.submit(call, job) for job in jobs]]


def test_there_is_a_hook_based_method_to_test():
    assert "deeplift" in HOOK_METHODS


@pytest.mark.parametrize("method_key", HOOK_METHODS)
def test_concurrent_field_explanations_equal_sequential(shared_model, method_key):
    model = shared_model
    before = weights_of(model)
    expected = {pair: explain_pair(model, *pair, method_key).attribution for pair in pairs(model)}
    for _ in range(ROUNDS):
        results = run_together(
            [lambda pair=pair: (pair, explain_pair(model, *pair, method_key).attribution) for pair in pairs(model)]
        )
        for pair, got in results:
            want = expected[pair]
            assert np.array_equal(got.groups, want.groups), (method_key, pair)
            assert np.array_equal(got.s, want.s) and np.array_equal(got.convergence_delta, want.convergence_delta)
    assert hooks_on(model) == 0
    after = weights_of(model)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not model.training


@pytest.mark.parametrize("method_key", [k for k in HOOK_METHODS if "dimensions" in METHODS[k].levels])
def test_concurrent_typed_vector_explanations_equal_sequential(shared_model, method_key):
    model = shared_model
    rng = np.random.default_rng(0)
    vectors = [
        (tuple(rng.normal(size=model.d).round(3)), tuple(rng.normal(size=model.d).round(3))) for _ in range(THREADS)
    ]
    expected = [explain_vectors(model, x, y, method_key).attribution for x, y in vectors]
    for _ in range(ROUNDS):
        results = run_together([lambda xy=xy: explain_vectors(model, *xy, method_key).attribution for xy in vectors])
        for got, want in zip(results, expected):
            assert np.array_equal(got.user, want.user) and np.array_equal(got.item, want.item)
    assert hooks_on(model) == 0


def test_mixed_methods_at_once_match_their_sequential_results(shared_model):
    """Hook-based and gradient methods side by side, as different sessions would run them."""
    model = shared_model
    methods = HOOK_METHODS + ["ig", "saliency", "feature_ablation"]
    jobs = [(method_key, pair) for method_key in methods for pair in pairs(model)[:3]]
    expected = {job: explain_pair(model, *job[1], job[0]).attribution.groups for job in jobs}
    results = run_together(
        [lambda job=job: (job, explain_pair(model, *job[1], job[0]).attribution.groups) for job in jobs]
    )
    for job, got in results:
        assert np.array_equal(got, expected[job]), job
    assert hooks_on(model) == 0


def test_twenty_sessions_rerunning_explore_see_only_their_own_pairs():
    """The load benchmark's harness (attnrec.app.load_sessions), small: 20 AppTest sessions at once on the shared
    cached model."""
    from attnrec.app import load_sessions as load

    pairs, expected = load.default_pairs(30)
    results = load.run_load(20, 2, "ig", pairs, expected)
    assert len(results) == 20
    assert [e for r in results for e in r.errors] == []
    assert [m for r in results for m in r.mixups] == []
    assert all(len(r.rerun_seconds) == 2 for r in results)
