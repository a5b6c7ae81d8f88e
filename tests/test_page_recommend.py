"""AppTest of app_pages/recommend.py: top-K, reasons and what-if, checked against computations done here."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from captum.attr import FeatureAblation, IntegratedGradients
from streamlit.testing.v1 import AppTest

from attnrec.data import Featurizer, load_dataset
from attnrec.model import Recommender
from attnrec.reasons import format_reason, reason_parts, side_texts

PAGE = str(Path(__file__).resolve().parents[1] / "app_pages" / "recommend.py")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(1)
    dataset = load_dataset("restaurants")
    return Recommender.from_featurizer(Featurizer.fit(dataset, "aligned"), dataset, heads=2)


def _page(model) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["user_models"] = {"page-test": model}
    at.session_state["attnrec_model_restaurants"] = "page-test"
    return at


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _numpy_scores(model, r_u, r_items):
    """Independent reference: the aligned encoder softplus(scale)·r + offset, then the document's math."""

    def encode(enc, r):
        scale = np.log1p(np.exp(enc.scale.detach().double().numpy()))
        return scale * r + (0.0 if enc.offset is None else enc.offset.detach().double().numpy())

    x, y = encode(model.user_encoder, np.asarray(r_u, float)), encode(model.item_encoder, np.asarray(r_items, float))
    p = x[None, :] * y
    a_u = _softmax(np.einsum("hij,nj->nhi", model.w_u.detach().double().numpy(), p) / model.temperature)
    a_v = _softmax(np.einsum("hij,nj->nhi", model.w_v.detach().double().numpy(), p) / model.temperature)
    return ((a_u * y[:, None, :]) * (a_v * x[None, None, :])).sum(axis=(1, 2))


def _group_sums(model, user_attr, item_attr):
    """Per "user: field" / "item: field" group, the sum of its columns' attributions."""
    names, values = [], []
    for side, groups, attr in (("user", model.users.groups, user_attr), ("item", model.items.groups, item_attr)):
        for g in groups:
            names.append(f"{side}: {g.name}")
            values.append(attr[:, g.start : g.stop].sum(axis=1))
    return names, np.stack(values, axis=1)


def _expected_reasons(model, user, items, captum_cls, baseline_kind, **kwargs):
    fz = model.featurizer
    r_u = model.user_rows(user).expand(len(items), -1).contiguous()
    r_v = model.item_rows(items)
    bu = torch.as_tensor(fz.baseline_row("user", baseline_kind)).expand_as(r_u).contiguous()
    bv = torch.as_tensor(fz.baseline_row("item", baseline_kind)).expand_as(r_v).contiguous()
    attr_u, attr_v = captum_cls(model).attribute((r_u, r_v), baselines=(bu, bv), **kwargs)
    names, values = _group_sums(model, attr_u.detach().double().numpy(), attr_v.detach().double().numpy())
    return _contrastive_reasons(model, user, items, names, values)


def _shown_reasons(at, table):
    """The page's reasons, from the wrapped "why each item" table, in the order of the top-K table."""
    from attnrec.safety import escape_markdown

    why = at.table[0].value  # st.table renders Markdown: the page escapes every cell
    assert list(why["item"]) == [escape_markdown(i) for i in table["item_id"]]
    return [text.replace("\\", "") for text in why["why this item"]]


def _contrastive_reasons(model, user, items, names, values):
    """Each item's group attributions minus their mean over the listed items (what sets it apart)."""
    apart = values - values.mean(axis=0, keepdims=True)
    floor = 1e-6 * np.abs(values).max()
    r_u, r_v = model.user_rows(user)[0].numpy(), model.item_rows(items).numpy()
    return [
        format_reason(
            reason_parts(
                names,
                apart[b],
                side_texts(model, "user", user, r_u, r_v[b]),
                side_texts(model, "item", i, r_v[b], r_u),
                top=2,
                min_abs=floor,
            )
        )
        for b, i in enumerate(items)
    ]


def test_top_k_scores_and_reasons_match_numpy_and_captum(model):
    at = _page(model)
    at.run()
    assert not at.exception, at.exception
    user = at.selectbox(key="widget_explore_user").value
    table = at.dataframe[0].value
    assert len(table) == 10
    # S against the whole catalog, seen items removed, best first — computed independently here.
    s_all = _numpy_scores(model, model.user_rows(user)[0].numpy(), model.items.matrix)
    seen = set(model.dataset.interactions.loc[model.dataset.interactions["user_id"] == user, "item_id"])
    by_item = dict(zip(model.item_ids, s_all))
    np.testing.assert_allclose(table["s"], [by_item[i] for i in table["item_id"]], rtol=1e-4, atol=1e-7)
    assert not seen & set(table["item_id"])
    assert list(table["s"]) == sorted(table["s"], reverse=True)
    # No unseen item left out scores above the last one shown (items with equal features tie).
    left_out = [s for i, s in by_item.items() if i not in seen and i not in set(table["item_id"])]
    assert max(left_out) <= table["s"].min() + 1e-6
    a, b = model.calibration.detach().double().numpy()
    np.testing.assert_allclose(table["probability"], 1 / (1 + np.exp(-(a * table["s"] + b))), rtol=1e-5)
    # Reasons: Captum's IntegratedGradients run directly here, summed per field group, against the page's default
    # baseline (aligned models: the dataset mean).
    assert at.selectbox(key="recommend_baseline").value == ("mean" if model.mode == "aligned" else "zeros")
    expected = _expected_reasons(
        model,
        user,
        list(table["item_id"]),
        IntegratedGradients,
        at.selectbox(key="recommend_baseline").value,
        n_steps=50,
        method="gausslegendre",
    )
    assert _shown_reasons(at, table) == expected
    assert (
        at.query_params["user"] == [user]
        if isinstance(at.query_params["user"], list)
        else at.query_params["user"] == user
    )


def test_tied_items_are_listed_in_catalog_order_and_their_ties_said(model):
    """An item side encoded to zeros makes every S exactly 0: the list is the first unseen items in catalog order,
    each tied with every other candidate, and the page says how many more tie with the last one."""
    flat = Recommender.from_featurizer(Featurizer.fit(model.dataset, "aligned"), model.dataset, heads=2)
    with torch.no_grad():
        flat.item_encoder.scale.fill_(-1000.0)  # softplus(-1000) is exactly 0: Y = 0 for every item
    assert flat.item_encoder.offset is None
    at = _page(flat)
    at.run()
    assert not at.exception, at.exception
    user = at.selectbox(key="widget_explore_user").value
    table = at.dataframe[0].value
    seen = set(flat.dataset.interactions.loc[flat.dataset.interactions["user_id"] == user, "item_id"])
    candidates = [i for i in flat.item_ids if i not in seen]
    assert list(table["item_id"]) == candidates[:10] and (table["s"] == 0).all()
    assert list(table["ties"]) == [len(candidates) - 1] * 10
    notes = [c.value for c in at.caption if "score exactly the same S" in c.value]
    assert len(notes) == 1 and f"{len(candidates) - 10} more item(s) not listed" in notes[0]


def test_the_ties_column_shows_only_when_listed_items_tie(model):
    at = _page(model)
    at.run()
    for k in (3, 10, 25):
        next(n for n in at.number_input if n.label == "How many (K)").set_value(k).run()
        assert not at.exception, at.exception
        table = at.dataframe[0].value
        tied = table["s"].duplicated(keep=False).any() or _ties_beyond(model, at, table)
        assert ("ties" in table.columns) == tied, k
        assert bool([c for c in at.caption if "score exactly the same S" in c.value]) == tied


def _ties_beyond(model, at, table) -> bool:
    """Does an unlisted candidate score exactly as much as the last listed item?"""
    user = at.selectbox(key="widget_explore_user").value
    scores = dict(zip(model.item_ids, model.scores_for_user(user).numpy().astype(float)))
    seen = set(model.dataset.interactions.loc[model.dataset.interactions["user_id"] == user, "item_id"])
    rest = [s for i, s in scores.items() if i not in seen and i not in set(table["item_id"])]
    return table["s"].iloc[-1] in rest


def test_method_and_baseline_switch_change_the_reasons_accordingly(model):
    at = _page(model)
    at.run()
    at.selectbox(key="widget_explore_method").set_value("feature_ablation")
    at.selectbox(key="recommend_baseline").set_value("unknown")
    at.number_input[0].set_value(5)
    at.run()
    assert not at.exception, at.exception
    user = at.selectbox(key="widget_explore_user").value
    table = at.dataframe[0].value
    assert len(table) == 5
    items = list(table["item_id"])
    fz = model.featurizer
    r_u = model.user_rows(user).expand(len(items), -1).contiguous()
    r_v = model.item_rows(items)
    masks = (
        torch.as_tensor(np.concatenate([[k] * (g.stop - g.start) for k, g in enumerate(model.users.groups)])).unsqueeze(
            0
        ),
        torch.as_tensor(
            np.concatenate(
                [[k + len(model.users.groups)] * (g.stop - g.start) for k, g in enumerate(model.items.groups)]
            )
        ).unsqueeze(0),
    )
    bu = torch.as_tensor(fz.baseline_row("user", "unknown")).expand_as(r_u).contiguous()
    bv = torch.as_tensor(fz.baseline_row("item", "unknown")).expand_as(r_v).contiguous()
    attr_u, attr_v = FeatureAblation(model).attribute((r_u, r_v), baselines=(bu, bv), feature_mask=masks)
    # FeatureAblation repeats a group's value on each column: read the first column of each group.
    values = np.concatenate(
        [
            attr_u.detach().double().numpy()[:, [g.start for g in model.users.groups]],
            attr_v.detach().double().numpy()[:, [g.start for g in model.items.groups]],
        ],
        axis=1,
    )
    names = [f"user: {g.name}" for g in model.users.groups] + [f"item: {g.name}" for g in model.items.groups]
    assert _shown_reasons(at, table) == _contrastive_reasons(model, user, items, names, values)


def test_what_if_edit_moves_items_like_a_numpy_rescoring(model):
    at = _page(model)
    at.run()
    user = at.selectbox(key="widget_explore_user").value
    editor = f"whatif_editor_{user}"
    read = model.featurizer.read_columns("user")
    attributes = [c for c in model.dataset.users.columns if c in read]  # the editor lists what the model reads
    assert list(at.data_editor[0].value["attribute"]) == attributes
    row = attributes.index("cuisines")
    at.session_state[editor] = {
        "edited_rows": {row: {"value": "Japanese; Seafood"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception, at.exception
    assert any("cuisine" in m.value for m in at.markdown)
    shift = at.dataframe[2].value
    edited = model.dataset.users.loc[[user]].copy()
    edited.loc[user, "cuisines"] = "Japanese; Seafood"
    r_after = model.featurizer.encode("user", edited).matrix[0]
    after = _numpy_scores(model, r_after, model.items.matrix)
    before = _numpy_scores(model, model.user_rows(user)[0].numpy(), model.items.matrix)
    by_item = dict(zip(model.item_ids, after - before))
    np.testing.assert_allclose(shift["delta_s"], [by_item[i] for i in shift["item_id"]], rtol=1e-3, atol=1e-5)
    # Ranks among the items the user has not rated, as the top-K above ("Skip items this user already rated").
    seen = set(model.dataset.interactions.loc[model.dataset.interactions["user_id"] == user, "item_id"])
    unseen = np.array([i not in seen for i in model.item_ids])
    order = np.array(model.item_ids)[unseen][np.argsort(-after[unseen], kind="stable")]
    rank_after = {i: r + 1 for r, i in enumerate(order)}
    assert list(shift["rank_after"]) == [rank_after[i] for i in shift["item_id"]]
    assert not seen & set(shift["item_id"])
    # Every shown item is in the top 10 before or after the edit, and the top 10 before is the list above.
    assert ((shift["rank_before"] <= 10) | (shift["rank_after"] <= 10)).all()
    top_before = shift.loc[shift["rank_before"] <= 10].sort_values("rank_before")
    np.testing.assert_allclose(top_before["s_before"], at.dataframe[0].value["s"], rtol=1e-5)  # the same up to ties
    # names beside ids, read from the raw table (restaurants name their places)
    names = model.dataset.items["name"]
    assert list(shift["name"]) == [str(names.loc[i]) for i in shift["item_id"]]
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert all(" · " in label for label in bars["y"])
    # every item that moved is explained by the edited field, however small its ΔS
    moved = shift[shift["delta_s"].abs() > 1e-9]
    assert len(moved) and all(w.startswith("cuisine") for w in moved["why"]), list(moved["why"])
    chart = at.get("plotly_chart")[0]
    assert chart is not None


def test_what_if_lists_only_the_attributes_the_model_reads_and_says_when_it_reads_none(model):
    """An attribute the model never reads cannot move a score: it is named, not offered. A model whose user side
    is its history profile reads none, and the page says so instead of offering edits that change nothing."""
    at = _page(model)
    at.run()
    assert not at.exception, at.exception
    read = set(model.featurizer.read_columns("user"))
    unread = [c for c in model.dataset.users.columns if c not in read]
    assert unread and read  # this aligned model pairs some user columns with item columns, not all
    assert set(at.data_editor[0].value["attribute"]) == read
    assert any(all(c.replace("_", "\\_") in m.value or c in m.value for c in unread) for m in at.caption)

    torch.manual_seed(2)
    dataset = model.dataset
    history = Recommender.from_featurizer(Featurizer.fit(dataset, "aligned", user_profile="history"), dataset, heads=2)
    at = _page(history)
    at.run()
    assert not at.exception, at.exception
    assert len(at.data_editor) == 0
    assert any("reads none of the user's attributes" in i.value for i in at.info)
    assert len(at.table) == 1  # the top-K and its reasons are still there
