"""The aligned space for the restaurant data: named dimensions that mean the same thing for a consumer
and for a restaurant, so X ⊙ Y reads "how well they match on dimension i".

Each dimension says, per side, which column it reads and what weight in [0, 1] each value gives
(multi-valued cells take their largest weight; missing → 0). Values are those of the loaded tables
(`attnrec.data.restaurants`), i.e. after cleaning: underscores → spaces, payment names unified.
Judgement calls are marked "why:".
"""

from __future__ import annotations

__all__ = ["CUISINE_FAMILIES", "ALIGNED_DIMENSIONS", "aligned_dimensions", "AREAS"]

AREAS = ("San Luis Potosí", "Cuernavaca", "Ciudad Victoria")

# 103 consumer / 59 restaurant cuisines → 9 families, each present on both sides. Only 23 cuisines occur
# among the 130 restaurants that have ratings, so European and healthy cuisines join wider families
# (why: a family no restaurant has would be a dimension that is always 0 for items).
CUISINE_FAMILIES: dict[str, tuple[str, ...]] = {
    "Mexican / Latin": (
        "Mexican",
        "Regional",
        "Tex-Mex",
        "Latin American",
        "Southwestern",
        "Cuban",
        "Peruvian",
        "Chilean",
        "Brazilian",
        "Caribbean",
        "Jamaican",
        "Indigenous",
    ),
    "American / fast food": (
        "American",
        "Fast Food",
        "Burgers",
        "Hot Dogs",
        "Diner",
        "Family",
        "Barbecue",
        "Southern",
        "California",
        "Cajun-Creole",
        "Pacific Northwest",
        "Canadian",
        "Steaks",
        "Deli-Sandwiches",
        "Bagels",
    ),
    "cafe / bakery / light meals": (
        "Cafe-Coffee Shop",
        "Cafeteria",
        "Bakery",
        "Breakfast-Brunch",
        "Dessert-Ice Cream",
        "Doughnuts",
        "Tea House",
        "Juice",
        "Soup",
        "Organic-Healthy",
        "Vegetarian",
    ),
    "Italian / pizza": ("Italian", "Pizzeria"),
    "Asian": (
        "Chinese",
        "Japanese",
        "Sushi",
        "Korean",
        "Thai",
        "Vietnamese",
        "Asian",
        "Mongolian",
        "Dim Sum",
        "Southeast Asian",
        "Indonesian",
        "Malaysian",
        "Filipino",
        "Burmese",
        "Cambodian",
        "Tibetan",
        "Pacific Rim",
        "Indian-Pakistani",
        "Hawaiian",
        "Polynesian",
    ),
    "Mediterranean / Middle Eastern": (
        "Greek",
        "Mediterranean",
        "Turkish",
        "Armenian",
        "Persian",
        "Afghan",
        "Lebanese",
        "Middle Eastern",
        "Israeli",
        "Kosher",
        "Moroccan",
        "North African",
        "Tunisian",
        "Ethiopian",
        "African",
    ),
    "bar / pub": ("Bar", "Bar Pub Brewery"),
    "seafood": ("Seafood",),
    "international / European": (
        "International",
        "Contemporary",
        "Fusion",
        "Eclectic",
        "Fine Dining",
        "Game",
        "Australian",
        "French",
        "Spanish",
        "Tapas",
        "Basque",
        "Portuguese",
        "German",
        "Austrian",
        "Swiss",
        "Dutch-Belgian",
        "Continental-European",
        "Eastern European",
        "Polish",
        "Hungarian",
        "Romanian",
        "Russian-Ukrainian",
        "Scandinavian",
        "British",
        "Irish",
    ),
}

_ALL = 1.0
# (group, dimension name, (user column, {value: weight}), (item column, {value: weight}))
ALIGNED_DIMENSIONS: list[tuple[str, str, tuple[str, dict], tuple[str, dict]]] = [
    *[
        (
            "cuisine",
            f"cuisine: {family}",
            ("cuisines", dict.fromkeys(members, _ALL)),
            ("cuisines", dict.fromkeys(members, _ALL)),
        )
        for family, members in CUISINE_FAMILIES.items()
    ],
    # Payment methods the consumers name; restaurant-only ones (Diners Club, checks, ...) match nobody.
    ("payment", "payment: cash", ("payments", {"cash": 1.0}), ("payments", {"cash": 1.0})),
    (
        "payment",
        "payment: debit card",
        ("payments", {"bank debit cards": 1.0}),
        ("payments", {"bank debit cards": 1.0}),
    ),
    ("payment", "payment: Visa", ("payments", {"Visa": 1.0}), ("payments", {"Visa": 1.0})),
    (
        "payment",
        "payment: MasterCard",
        ("payments", {"MasterCard-Eurocard": 1.0}),
        ("payments", {"MasterCard-Eurocard": 1.0}),
    ),
    (
        "payment",
        "payment: American Express",
        ("payments", {"American Express": 1.0}),
        ("payments", {"American Express": 1.0}),
    ),
    ("price", "price: low", ("budget", {"low": 1.0}), ("price", {"low": 1.0})),
    ("price", "price: medium", ("budget", {"medium": 1.0}), ("price", {"medium": 1.0})),
    ("price", "price: high", ("budget", {"high": 1.0}), ("price", {"high": 1.0})),
    # why: "section" has both a smoking and a smoke-free part; "only at bar" allows smoking a little.
    (
        "smoking",
        "smoking: allowed",
        ("smoker", {"yes": 1.0}),
        ("smoking_area", {"permitted": 1.0, "section": 1.0, "only at bar": 0.5}),
    ),
    (
        "smoking",
        "smoking: smoke-free",
        ("smoker", {"no": 1.0}),
        ("smoking_area", {"none": 1.0, "not permitted": 1.0, "section": 1.0, "only at bar": 1.0}),
    ),
    # why: social and casual drinkers both drink; a full bar serves more than wine and beer.
    (
        "alcohol",
        "alcohol: served",
        ("drink_level", {"social drinker": 1.0, "casual drinker": 1.0}),
        ("alcohol", {"Full Bar": 1.0, "Wine-Beer": 0.5}),
    ),
    ("alcohol", "alcohol: none", ("drink_level", {"abstemious": 1.0}), ("alcohol", {"No Alcohol Served": 1.0})),
    (
        "dress",
        "dress: formal",
        ("dress_preference", {"formal": 1.0, "elegant": 1.0}),
        ("dress_code", {"formal": 1.0, "casual": 0.5}),
    ),
    (
        "dress",
        "dress: informal",
        ("dress_preference", {"informal": 1.0, "no preference": 0.5}),
        ("dress_code", {"informal": 1.0, "casual": 1.0}),
    ),
    (
        "ambience",
        "ambience: family / friends",
        ("ambience", {"family": 1.0, "friends": 1.0}),
        ("ambience", {"familiar": 1.0}),
    ),
    ("ambience", "ambience: quiet", ("ambience", {"solitary": 1.0}), ("ambience", {"quiet": 1.0})),
    # why: street parking exists but is not guaranteed.
    (
        "parking",
        "parking: by car",
        ("transport", {"car owner": 1.0}),
        (
            "parking",
            {"yes": 1.0, "public": 1.0, "valet parking": 1.0, "validated parking": 1.0, "fee": 1.0, "street": 0.5},
        ),
    ),
    *[("area", f"area: {area}", ("area", {area: 1.0}), ("area", {area: 1.0})) for area in AREAS],
]

MULTI_VALUED = {"cuisines", "payments", "parking"}  # joined with "; " in the loaded tables


def aligned_dimensions() -> list[dict]:
    """The table above as Featurizer dimension dicts (plain JSON data)."""

    def rule(column: str, weights: dict) -> dict:
        out = {"column": column, "values": dict(weights)}
        if column in MULTI_VALUED:
            out["separator"] = ";"
        return out

    return [
        {"name": name, "group": group, "user": rule(*user), "item": rule(*item)}
        for group, name, user, item in ALIGNED_DIMENSIONS
    ]
