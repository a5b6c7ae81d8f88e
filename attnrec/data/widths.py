"""How wide each side's encoding will be, known before training (and before any matrix is allocated).

`encoding_preview` asks `Featurizer.plan` for the featurizer `Featurizer.fit` would build (the same vocabularies, the
same aligned dimensions) but encodes nothing, then asks the featurizer's own size rule
(`check_encoded_size`, limits in attnrec.limits) whether the dense matrices would fit. The Data
page shows the result next to the Train button, so an over-wide categorical is named before a run starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from attnrec.data.featurize import SIDES, Featurizer, capped_fields, check_encoded_size
from attnrec.data.types import DataError, Dataset, Mode

__all__ = ["SideWidth", "encoding_preview"]


@dataclass(frozen=True)
class SideWidth:
    side: str
    rows: int
    columns: int
    widest: str | None  # the field with the most columns
    widest_columns: int
    problem: str | None  # the DataError message when over the limits, else None
    capped: tuple[dict, ...] = ()  # latent fields whose rarer values share one "(other)" column (`capped_fields`)

    def notes(self) -> list[str]:
        """Plain sentences about capped fields, for the page (data values appear only as field names)."""
        out = []
        for f in self.capped:
            text = (
                f"'{f['name']}' has {f['distinct_values']:,} distinct values; the {f['kept']:,} most frequent "
                f"are columns and the rest share '{f['name']}=(other)'"
            )
            if f["unique_per_row"]:
                text += " — every row has a value of its own, so this column cannot teach the model anything"
            out.append(text)
        return out


def encoding_preview(
    dataset: Dataset,
    mode: Mode = "latent",
    use_ids: bool = False,
    features: str = "all",
    popularity: bool = False,
    user_profile: str = "columns",
) -> dict[str, SideWidth]:
    """side → SideWidth for a model trained with these settings; DataError if no encoding can be planned
    (e.g. aligned mode with no shared values)."""
    featurizer = Featurizer.plan(dataset, mode, use_ids, features, popularity, user_profile)
    out: dict[str, SideWidth] = {}
    for side in SIDES:
        rows = len(dataset.users if side == "user" else dataset.items)
        groups = featurizer.groups(side)
        widest = max(groups, key=lambda g: g.stop - g.start) if groups else None
        try:
            check_encoded_size(featurizer, side, rows)
            problem = None
        except DataError as err:
            problem = str(err)
        out[side] = SideWidth(
            side,
            rows,
            len(featurizer.columns(side)),
            widest.name if widest else None,
            (widest.stop - widest.start) if widest else 0,
            problem,
            tuple(capped_fields(featurizer, side)),
        )
    return out
