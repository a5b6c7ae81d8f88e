"""The UCI "Restaurant & consumer data" (138 consumers, 130 restaurants, 1,161 ratings), loaded as is.

Quirks handled here rather than by editing the files:
- `?` means missing.
- Multi-valued attributes live in side tables, one row per value (usercuisine, userpayment,
  chefmozcuisine, chefmozaccepts, chefmozparking); they become one cell joined as "Mexican; Italian".
  The chefmoz side tables describe a larger catalogue (e.g. 615 places accept payments) — rows for places
  outside geoplaces2.csv are ignored. Opening hours (chefmozhours4.csv) are not used for modelling.
- Vocabularies differ in case/spelling (`VISA` vs `Visa`, `bank_debit_cards`): unified; underscores in
  values become spaces so tables read naturally.
- A few names carry U+FFFD (a lossy conversion before distribution); kept as they are.
- City spellings ("s.l.p.", "san luis potosi ", "Cd. Victoria", ...) are unified; a missing city is
  filled with the nearest of the three study cities by coordinates.
- Users have coordinates only; their `area` is the nearest of the three cities (they rate in one city).

Labels: every rating row is an interaction; rating ≥ 1 → label 1, rating 0 → label 0 (observed negative).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from attnrec.data.aligned_restaurants import AREAS, aligned_dimensions
from attnrec.data.cells import (
    check_known_ids,
    check_unique_ids,
    clean_text,
    missing_mask,
    parse_numeric,
    require_columns,
    row_number,
)
from attnrec.data.io import read_table
from attnrec.data.own_schema import validate_schema
from attnrec.data.types import DataError, Dataset

__all__ = [
    "load_restaurants",
    "restaurants_schema",
    "normalize_city",
    "normalize_payment",
    "nearest_area",
    "FILES",
    "CREDIT",
]

CREDIT = (
    "Restaurant & consumer data (UCI ML Repository, id 232), R. Ponce Medellín, J. G. González Serna "
    "(CENIDET); Vargas-Govea et al., CARS-2011. CC BY 4.0; converted by attnrec's loader."
)

# file → columns the loader needs
FILES: dict[str, list[str]] = {
    "userprofile.csv": [
        "userID",
        "latitude",
        "longitude",
        "smoker",
        "drink_level",
        "dress_preference",
        "ambience",
        "transport",
        "marital_status",
        "hijos",
        "birth_year",
        "interest",
        "personality",
        "religion",
        "activity",
        "color",
        "weight",
        "budget",
        "height",
    ],
    "usercuisine.csv": ["userID", "Rcuisine"],
    "userpayment.csv": ["userID", "Upayment"],
    "geoplaces2.csv": [
        "placeID",
        "latitude",
        "longitude",
        "name",
        "address",
        "city",
        "alcohol",
        "smoking_area",
        "dress_code",
        "accessibility",
        "price",
        "Rambience",
        "franchise",
        "area",
        "other_services",
    ],
    "chefmozcuisine.csv": ["placeID", "Rcuisine"],
    "chefmozaccepts.csv": ["placeID", "Rpayment"],
    "chefmozparking.csv": ["placeID", "parking_lot"],
    "rating_final.csv": ["userID", "placeID", "rating", "food_rating", "service_rating"],
}

CITY_CENTRES = {
    "San Luis Potosí": (22.1517, -100.9765),
    "Cuernavaca": (18.9186, -99.2342),
    "Ciudad Victoria": (23.7369, -99.1411),
}
assert tuple(CITY_CENTRES) == AREAS
_CITY_SPELLINGS = {
    "san luis potosi": "San Luis Potosí",
    "san luis potos": "San Luis Potosí",
    "s.l.p": "San Luis Potosí",
    "slp": "San Luis Potosí",
    "cuernavaca": "Cuernavaca",
    "victoria": "Ciudad Victoria",
    "cd victoria": "Ciudad Victoria",
    "cd. victoria": "Ciudad Victoria",
    "ciudad victoria": "Ciudad Victoria",
    "jiutepec": "Jiutepec",
    "soledad": "Soledad de Graciano Sánchez",
}
_PAYMENT_NAMES = {
    "visa": "Visa",
    "mastercard-eurocard": "MasterCard-Eurocard",
    "american express": "American Express",
    "diners club": "Diners Club",
    "discover": "Discover",
    "carte blanche": "Carte Blanche",
    "japan credit bureau": "Japan Credit Bureau",
}

USER_FEATURES = {
    "cuisines": {"kind": "multi", "separator": ";"},
    "payments": {"kind": "multi", "separator": ";"},
    **{
        c: {"kind": "categorical"}
        for c in (
            "smoker",
            "drink_level",
            "dress_preference",
            "ambience",
            "transport",
            "marital_status",
            "children",
            "interest",
            "personality",
            "religion",
            "activity",
            "color",
            "budget",
            "area",
        )
    },
    **{c: {"kind": "numeric"} for c in ("birth_year", "weight", "height")},
}
ITEM_FEATURES = {
    **{c: {"kind": "multi", "separator": ";"} for c in ("cuisines", "payments", "parking")},
    **{
        c: {"kind": "categorical"}
        for c in (
            "alcohol",
            "smoking_area",
            "dress_code",
            "accessibility",
            "price",
            "ambience",
            "franchise",
            "setting",
            "other_services",
            "area",
        )
    },
}


def restaurants_schema() -> dict:
    """The own-data schema describing the joined tables this loader builds (written to schema.json)."""
    return validate_schema(
        {
            "name": "restaurants",
            "description": "UCI Restaurant & consumer data, joined: one row per consumer / restaurant; "
            "multi-valued cells joined with '; '. Interactions: every rating, label = rating >= 1.",
            "user_id": "user_id",
            "item_id": "item_id",
            "item_name": "name",
            "label": {"column": "rating", "threshold": 1},
            "user_features": USER_FEATURES,
            "item_features": ITEM_FEATURES,
            "aligned_dimensions": aligned_dimensions(),
            "missing_values": ["", "?"],
        }
    )


# ---------- value cleaning ----------


def normalize_city(raw: str | float) -> str | float:
    """ "s.l.p." / "san luis potosi " / "slp" → "San Luis Potosí", etc.; missing stays NaN."""
    if not isinstance(raw, str) or not raw.strip():
        return np.nan
    key = raw.strip().lower().rstrip(".")
    return _CITY_SPELLINGS.get(key, raw.strip())


def normalize_payment(raw: str) -> str:
    """`VISA`/`Visa` → "Visa", `bank_debit_cards` → "bank debit cards": brand names capitalised, others lower."""
    key = raw.strip().replace("_", " ").lower()
    return _PAYMENT_NAMES.get(key, key)


def _tidy(value):
    return value.replace("_", " ") if isinstance(value, str) else value


def nearest_area(latitude: float, longitude: float) -> str:
    """The study city closest to a point (equirectangular distance: fine at these scales)."""

    def distance(centre):
        lat0, lon0 = centre
        dx = (longitude - lon0) * math.cos(math.radians((latitude + lat0) / 2))
        return math.hypot(latitude - lat0, dx)

    return min(CITY_CENTRES, key=lambda name: distance(CITY_CENTRES[name]))


# ---------- loading ----------


def _read_all(directory: Path) -> dict[str, pd.DataFrame]:
    frames = {}
    for name, columns in FILES.items():
        path = directory / name
        if not path.exists():
            raise DataError("file not found in the restaurant data folder", file=name)
        frame = read_table(path)
        require_columns(frame, columns)
        frames[name] = frame
    return frames


def _joined(frame: pd.DataFrame, id_column: str, value_column: str, known: set[str], clean) -> dict[str, str]:
    """Side table (one row per value) → {id: "a; b"} for known ids, values cleaned, deduplicated, sorted."""
    missing_id = missing_mask(frame[id_column])
    if missing_id.any():
        raise DataError(
            "id is missing",
            file=frame.attrs.get("source_file"),
            row=row_number(frame, int(np.argmax(missing_id))),
            column=id_column,
        )
    missing = missing_mask(frame[value_column])
    values: dict[str, set[str]] = {}
    for pos, (entity, value) in enumerate(zip(frame[id_column].astype(str).str.strip(), frame[value_column])):
        if entity in known and not missing[pos]:
            values.setdefault(entity, set()).add(clean(str(value)))
    return {entity: "; ".join(sorted(v)) for entity, v in values.items()}


def load_restaurants(directory: str | Path) -> Dataset:
    """Load the nine raw files from `directory` (validated first: DataError names file, row, column)."""
    directory = Path(directory)
    f = _read_all(directory)
    users_raw, places_raw, ratings = f["userprofile.csv"], f["geoplaces2.csv"], f["rating_final.csv"]

    # validate everything before building anything
    check_unique_ids(users_raw, "userID")
    check_unique_ids(places_raw, "placeID")
    user_numbers = {
        c: parse_numeric(users_raw, c, required=c in ("latitude", "longitude"))
        for c in ("latitude", "longitude", "birth_year", "weight", "height")
    }
    place_numbers = {c: parse_numeric(places_raw, c, required=True) for c in ("latitude", "longitude")}
    user_ids = set(users_raw["userID"].astype(str).str.strip())
    place_ids = set(places_raw["placeID"].astype(str).str.strip())
    for column in ("userID", "placeID"):
        mask = missing_mask(ratings[column])
        if mask.any():
            raise DataError(
                "id is missing", file="rating_final.csv", row=row_number(ratings, int(np.argmax(mask))), column=column
            )
    check_known_ids(ratings, "userID", user_ids, "user")
    check_known_ids(ratings, "placeID", place_ids, "item")
    rating = parse_numeric(ratings, "rating", required=True)
    for column in ("food_rating", "service_rating"):
        parse_numeric(ratings, column, required=True)
    pairs = ratings["userID"].astype(str).str.strip() + "|" + ratings["placeID"].astype(str).str.strip()
    repeated = pairs.duplicated().to_numpy()
    if repeated.any():
        pos = int(np.argmax(repeated))
        raise DataError(
            f"user {pairs.iloc[pos].replace('|', ' rated place ')} twice",
            file="rating_final.csv",
            row=row_number(ratings, pos),
            column="placeID",
        )
    for name, id_column, known in (("usercuisine.csv", "userID", user_ids), ("userpayment.csv", "userID", user_ids)):
        check_known_ids(f[name], id_column, known, "user")
    user_cuisines = _joined(f["usercuisine.csv"], "userID", "Rcuisine", user_ids, _tidy)
    user_payments = _joined(f["userpayment.csv"], "userID", "Upayment", user_ids, normalize_payment)
    place_cuisines = _joined(f["chefmozcuisine.csv"], "placeID", "Rcuisine", place_ids, _tidy)
    place_payments = _joined(f["chefmozaccepts.csv"], "placeID", "Rpayment", place_ids, normalize_payment)
    place_parking = _joined(f["chefmozparking.csv"], "placeID", "parking_lot", place_ids, _tidy)

    schema = restaurants_schema()
    users = _build_users(users_raw, user_numbers, user_cuisines, user_payments)
    items = _build_items(places_raw, place_numbers, place_cuisines, place_payments, place_parking)
    interactions = pd.DataFrame(
        {
            "user_id": ratings["userID"].astype(str).str.strip().to_numpy(),
            "item_id": ratings["placeID"].astype(str).str.strip().to_numpy(),
            "label": (rating.to_numpy() >= schema["label"]["threshold"]).astype(int),
        }
    )
    return Dataset(
        name="restaurants",
        users=users,
        items=items,
        interactions=interactions,
        schema=schema,
        source=f"{directory} — {CREDIT}",
    )


def _build_users(raw: pd.DataFrame, numbers: dict, cuisines: dict, payments: dict) -> pd.DataFrame:
    ids = raw["userID"].astype(str).str.strip().to_numpy()
    text = {c: clean_text(raw[c]).to_numpy() for c in raw.columns}
    users = pd.DataFrame(index=pd.Index(ids, name="user_id"))
    users["cuisines"] = [cuisines.get(u, np.nan) for u in ids]
    users["payments"] = [payments.get(u, np.nan) for u in ids]
    users["smoker"] = pd.Series(text["smoker"]).map({"true": "yes", "false": "no"}).to_numpy()
    for column in ("drink_level", "dress_preference", "ambience", "transport", "marital_status"):
        users[column] = text[column]
    users["children"] = text["hijos"]
    for column in ("interest", "personality", "religion", "activity", "color", "budget"):
        users[column] = text[column]
    for column in ("birth_year", "weight", "height", "latitude", "longitude"):
        users[column] = numbers[column].to_numpy()
    users["area"] = [nearest_area(la, lo) for la, lo in zip(users["latitude"], users["longitude"])]
    return users


def _build_items(raw: pd.DataFrame, numbers: dict, cuisines: dict, payments: dict, parking: dict) -> pd.DataFrame:
    ids = raw["placeID"].astype(str).str.strip().to_numpy()
    text = {c: clean_text(raw[c]).to_numpy() for c in raw.columns}
    items = pd.DataFrame(index=pd.Index(ids, name="item_id"))
    items["name"] = text["name"]  # U+FFFD kept: the original letter is not recoverable from the file
    items["latitude"], items["longitude"] = numbers["latitude"].to_numpy(), numbers["longitude"].to_numpy()
    items["area"] = [nearest_area(la, lo) for la, lo in zip(items["latitude"], items["longitude"])]
    cities = [normalize_city(c) for c in text["city"]]
    items["city"] = [c if isinstance(c, str) else a for c, a in zip(cities, items["area"])]
    items["address"] = text["address"]
    items["cuisines"] = [cuisines.get(p, np.nan) for p in ids]
    items["payments"] = [payments.get(p, np.nan) for p in ids]
    items["parking"] = [parking.get(p, np.nan) for p in ids]
    items["price"] = text["price"]
    for column in ("alcohol", "smoking_area", "dress_code", "accessibility"):
        items[column] = [_tidy(v) for v in text[column]]
    items["ambience"] = text["Rambience"]
    items["franchise"] = pd.Series(text["franchise"]).map({"t": "yes", "f": "no"}).to_numpy()
    items["setting"] = text["area"]  # the raw "area" column: open / closed space
    items["other_services"] = [v.lower() if isinstance(v, str) else v for v in text["other_services"]]
    return items


def write_schema(path: str | Path) -> None:
    Path(path).write_text(json.dumps(restaurants_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write the restaurants schema.json")
    parser.add_argument("--write-schema", required=True, help="path of the schema.json to write")
    write_schema(parser.parse_args().write_schema)
