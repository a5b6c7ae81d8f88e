"""The catalog-scale synthetic generator: Parquet tables that load as own data and hold what was asked for."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from attnrec.data import load_dataset
from attnrec.data.synthetic import GENRES, true_scores, write_large


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("scale")
    write_large(out, n_users=53, n_items=40, n_positives=301, seed=3, chunk_users=10)
    return out


def test_loads_as_own_data_with_the_sizes_asked_for(folder):
    dataset = load_dataset(folder)
    assert (len(dataset.users), len(dataset.items)) == (53, 40)
    positives = dataset.positives
    assert len(positives) == 301
    per_user = positives.groupby("user_id").size()
    assert sorted(set(per_user)) == [5, 6]  # 301 = 53 · 5 + 36: the first 36 users get one more
    assert per_user.loc[[f"u{i}" for i in range(1, 37)]].eq(6).all()
    assert not positives.duplicated(["user_id", "item_id"]).any()
    assert set(positives["item_id"]) <= set(dataset.items.index)
    assert list(dataset.users.index[:3]) == ["u1", "u2", "u3"]
    assert dataset.item_name("i7") == "Film 7"


def test_tables_round_trip_with_narrow_types(folder):
    users = pq.read_table(folder / "users.parquet")
    items = pq.read_table(folder / "items.parquet")
    assert str(users.schema.field("signup_year").type) == "int32"
    assert str(items.schema.field(GENRES[0]).type) == "float"
    dataset = load_dataset(folder)
    genre = GENRES[0]
    np.testing.assert_allclose(
        dataset.users[genre].to_numpy(dtype=float), users.column(genre).to_numpy().astype(float), rtol=0, atol=0
    )
    assert users.num_rows == 53 and items.num_rows == 40


def test_positives_lean_towards_the_planted_score(folder):
    """Positives are drawn by the planted S*: on average they score above random pairs (numpy reference)."""
    record = json.loads((folder / "generator.json").read_text(encoding="utf-8"))
    dataset = load_dataset(folder)
    genres = list(GENRES[:12])
    users = dataset.users[genres].to_numpy(dtype=float)
    items = dataset.items[genres].to_numpy(dtype=float)
    u = dataset.positives["user_id"].str[1:].astype(int).to_numpy() - 1
    i = dataset.positives["item_id"].str[1:].astype(int).to_numpy() - 1
    chosen = true_scores(record, users[u], items[i]).numpy()
    rng = np.random.default_rng(0)
    ru, ri = rng.integers(0, 53, 5000), rng.integers(0, 40, 5000)
    random = true_scores(record, users[ru], items[ri]).numpy()
    assert chosen.mean() > random.mean()


def test_refuses_more_positives_per_user_than_items(tmp_path):
    with pytest.raises(ValueError, match="per user"):
        write_large(tmp_path, n_users=2, n_items=3, n_positives=8)
