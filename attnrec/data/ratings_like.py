"""A generated ratings dataset shaped like MovieLens-100k, written in that dataset's own file layout.

Nothing is downloaded: every value is drawn from a seeded generator. The shape follows the well-known
100k release so the own-data path (schema → `attnrec train` → `attnrec evaluate`) can be exercised and
timed at its size without shipping or fetching it:

- `u.user`  `user_id|age|gender|occupation|zip_code`, no header (≈ 1,000 users; zips include letters).
- `u.item`  `item_id|title|release_date|video_release_date|imdb_url|` + 19 genre flags (0/1), no header;
  release dates written like `01-Jan-1995`, a few missing.
- `u.data`  `user_id<TAB>item_id<TAB>rating<TAB>timestamp`, no header; ratings 1–5; each user rates in a
  few sessions, so many of a user's ratings share one timestamp (the hold-out's tie rule matters).
- `schema.json` names those files (`"files"`) and derives features: the release year from the date, the
  zip code's 3-character prefix, and the 19 flags as one multi-valued "genres" field.

Ratings carry a planted signal (each user likes a few genres and a release era; items have a quality), so
a trained model and BPR-MF beat popularity. Every user has at least `min_per_user` ratings.

    python -m attnrec.data.ratings_like --out /tmp/ml-like            # full size: 943 × 1,682, 100,000
    python -m attnrec.data.ratings_like --out /tmp/ml-small --users 60 --items 80 --ratings 1500
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["GENRES", "OCCUPATIONS", "ratings_like_schema", "generate_ratings_like", "write_ratings_like"]

GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
OCCUPATIONS = (
    "administrator",
    "artist",
    "doctor",
    "educator",
    "engineer",
    "entertainment",
    "executive",
    "healthcare",
    "homemaker",
    "lawyer",
    "librarian",
    "marketing",
    "none",
    "other",
    "programmer",
    "retired",
    "salesman",
    "scientist",
    "student",
    "technician",
    "writer",
)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
USER_COLUMNS = ["user_id", "age", "gender", "occupation", "zip_code"]
ITEM_COLUMNS = ["item_id", "title", "release_date", "video_release_date", "imdb_url", *GENRES]
RATING_COLUMNS = ["user_id", "item_id", "rating", "timestamp"]


def ratings_like_schema() -> dict:
    """The schema of the generated files (also the README's complete example)."""
    return {
        "name": "movielens-like",
        "description": "Generated ratings shaped like MovieLens-100k (attnrec.data.ratings_like); no real data.",
        "user_id": "user_id",
        "item_id": "item_id",
        "item_name": "title",
        "files": {
            "users": {"path": "u.user", "separator": "|", "header": False, "columns": USER_COLUMNS},
            "items": {"path": "u.item", "separator": "|", "header": False, "columns": ITEM_COLUMNS},
            "interactions": {"path": "u.data", "separator": "\t", "header": False, "columns": RATING_COLUMNS},
        },
        "label": {"column": "rating", "threshold": 4},
        "timestamp": "timestamp",
        "user_features": {
            "age": {"kind": "numeric"},
            "gender": {"kind": "categorical"},
            "occupation": {"kind": "categorical"},
            "zip3": {"kind": "categorical", "column": "zip_code", "prefix": 3},
        },
        "item_features": {
            "year": {"kind": "date", "column": "release_date", "part": "year", "format": "%d-%b-%Y"},
            "genres": {"kind": "flags", "columns": list(GENRES)},
        },
    }


def generate_ratings_like(
    n_users: int = 943, n_items: int = 1682, n_ratings: int = 100_000, seed: int = 0, min_per_user: int = 20
) -> dict[str, list[list[str]]]:
    """The three tables as rows of strings (no header), in the MovieLens-100k column order."""
    if n_ratings > n_users * n_items:
        raise ValueError("more ratings than user–item pairs")
    min_per_user = min(min_per_user, n_ratings // n_users, n_items)
    rng = np.random.default_rng(seed)
    g = len(GENRES)

    # users
    ages = np.clip(rng.normal(33, 12, n_users).round(), 7, 73).astype(int)
    genders = rng.choice(["M", "F"], n_users, p=[0.71, 0.29])
    occupations = rng.choice(OCCUPATIONS, n_users)
    zips = [f"{z:05d}" for z in rng.integers(1000, 99999, n_users)]
    for k in rng.choice(n_users, max(1, n_users // 60), replace=False):  # a few Canadian-style codes
        zips[k] = "".join(rng.choice(list("ABCEGHJKLMNPRSTVXY0123456789"), 5))
    taste = rng.dirichlet(np.full(g, 0.3), n_users)  # genre preferences
    era = rng.normal(1990, 8, n_users)  # preferred release year

    # items
    flags = (rng.random((n_items, g)) < np.r_[0.002, np.full(g - 1, 0.09)]).astype(int)
    none = flags.sum(1) == 0
    flags[none, rng.integers(1, g, int(none.sum()))] = 1  # every film has a genre
    years = np.clip(rng.normal(1990, 12, n_items).round(), 1922, 1998).astype(int)
    months, days = rng.integers(0, 12, n_items), rng.integers(1, 29, n_items)
    quality = rng.normal(0, 1, n_items)
    exposure = rng.zipf(1.6, n_items).clip(max=400).astype(float)  # popular films get more ratings

    # who rates what: at least min_per_user each, the rest spread by activity and exposure
    activity = rng.lognormal(0, 1, n_users)
    per_user = min_per_user + rng.multinomial(n_ratings - min_per_user * n_users, activity / activity.sum())
    per_user = np.minimum(per_user, n_items)
    short = n_ratings - per_user.sum()
    while short > 0:  # capped users' share goes to the others
        room = np.flatnonzero(per_user < n_items)
        add = rng.choice(room, min(short, len(room)), replace=False)
        per_user[add] += 1
        short -= len(add)
    user_parts: list[np.ndarray] = []
    item_parts: list[np.ndarray] = []
    for user in range(n_users):
        weights = np.sqrt(exposure) * np.exp(6.0 * (flags @ taste[user]))  # popular films, the user's genres
        keys = np.log(rng.random(n_items)) / weights  # weighted sampling without replacement
        chosen = np.argpartition(-keys, per_user[user] - 1)[: per_user[user]]
        user_parts.append(np.full(len(chosen), user))
        item_parts.append(chosen)
    users, items = np.concatenate(user_parts), np.concatenate(item_parts)

    # ratings 1..5 from taste, era and quality
    match = (flags[items] * taste[users]).sum(1) / np.maximum(flags[items].sum(1), 1) * g
    closeness = -np.abs(years[items] - era[users]) / 10
    latent = 0.9 * match + 0.4 * closeness + 0.6 * quality[items] + rng.normal(0, 0.8, len(users))
    ratings = np.digitize(latent, np.quantile(latent, [0.06, 0.17, 0.45, 0.79])) + 1  # MovieLens-like shares

    # timestamps: each user rates in a few sessions; a session's ratings share its second (ties)
    start = rng.integers(874_724_710, 893_286_638, n_users)
    timestamps = np.empty(len(users), dtype=np.int64)
    ends = np.cumsum(per_user)  # users' rows are contiguous here
    for user in range(n_users):
        at = slice(ends[user] - per_user[user], ends[user])
        count = int(per_user[user])
        sessions = start[user] + np.sort(rng.integers(0, 3_000_000, max(1, count // 4)))
        timestamps[at] = rng.choice(sessions, count)
    order = rng.permutation(len(users))  # MovieLens' u.data is unordered

    titles = [f"Film {k + 1} ({years[k]})" for k in range(n_items)]
    dates = [f"{days[k]:02d}-{MONTHS[months[k]]}-{years[k]}" for k in range(n_items)]
    for k in rng.choice(n_items, max(1, n_items // 800), replace=False):  # a few unknown release dates
        dates[k] = ""
    return {
        "users": [[str(u + 1), str(ages[u]), genders[u], occupations[u], zips[u]] for u in range(n_users)],
        "items": [
            [str(k + 1), titles[k], dates[k], "", f"http://example.invalid/film/{k + 1}", *map(str, flags[k])]
            for k in range(n_items)
        ],
        "interactions": [[str(users[r] + 1), str(items[r] + 1), str(ratings[r]), str(timestamps[r])] for r in order],
    }


def write_ratings_like(out: str | Path, **kwargs: Any) -> Path:
    """Write u.user, u.item, u.data and schema.json into `out` (created); returns the folder."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tables = generate_ratings_like(**kwargs)
    for role, name, sep in (("users", "u.user", "|"), ("items", "u.item", "|"), ("interactions", "u.data", "\t")):
        (out / name).write_text("".join(sep.join(row) + "\n" for row in tables[role]), encoding="utf-8")
    (out / "schema.json").write_text(json.dumps(ratings_like_schema(), indent=1) + "\n", encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--users", type=int, default=943)
    parser.add_argument("--items", type=int, default=1682)
    parser.add_argument("--ratings", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    folder = write_ratings_like(
        args.out, n_users=args.users, n_items=args.items, n_ratings=args.ratings, seed=args.seed
    )
    print(f"wrote {folder}/u.user, u.item, u.data, schema.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
