"""Datasets, loaders and the Featurizer.

`load_dataset("restaurants" | "synthetic" | folder, schema=None)` returns a `Dataset`; `Featurizer.fit`
turns its tables into dense matrices (aligned named dimensions, or latent one-hot/multi-hot/scaled).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from attnrec.data.featurize import Featurizer
from attnrec.data.io import read_table
from attnrec.data.types import DataError, Dataset, DataWarning, FieldGroup, FieldKind, Mode, Side, SideEncoding

__all__ = [
    "load_dataset",
    "Featurizer",
    "read_table",
    "load_own_dataset",
    "BUILT_IN",
    "SAMPLE_DATA",
    "DataError",
    "DataWarning",
    "Dataset",
    "FieldGroup",
    "FieldKind",
    "Mode",
    "Side",
    "SideEncoding",
]

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"
BUILT_IN = ("restaurants", "synthetic")


def load_own_dataset(*args: Any, **kwargs: Any) -> Dataset:
    from attnrec.data.own import load_own_dataset as load

    return load(*args, **kwargs)


def load_dataset(name_or_dir: str | Path, schema: dict | str | Path | None = None) -> Dataset:
    """A built-in by name ("restaurants", "synthetic"), or a folder holding either the raw restaurant
    files or users/items/interactions tables (.csv, .tsv or .parquet, or the files its schema names in
    "files") with a schema.json (or `schema`); the dataset is called by the schema's "name", else the folder's.
    A built-in name wins over a folder of the same name in the working directory (use "./synthetic")."""
    if isinstance(name_or_dir, str) and name_or_dir in BUILT_IN:
        directory = SAMPLE_DATA / str(name_or_dir)
    else:
        directory = Path(name_or_dir)
    if not directory.is_dir():
        raise DataError(f"'{name_or_dir}' is neither a built-in dataset {list(BUILT_IN)} nor a folder")
    from attnrec.data.stored import is_workspace_dataset, read_workspace_dataset

    if schema is None and is_workspace_dataset(directory):  # a dataset kept in the app's workspace
        return read_workspace_dataset(directory)
    if schema is None and (directory / "rating_final.csv").exists():
        from attnrec.data.restaurants import load_restaurants

        return load_restaurants(directory)
    if schema is None and (directory / "planted.json").exists():
        from attnrec.data.synthetic import load_synthetic

        return load_synthetic(directory)
    from attnrec.data.own import load_own_dataset as load
    from attnrec.data.own import schema_tables
    from attnrec.data.own_schema import load_schema

    loaded = load_schema(schema if schema is not None else directory / "schema.json")
    tables = schema_tables(directory, loaded)  # the files the schema names, else users/items/interactions
    return load(
        tables["users"],
        tables["items"],
        tables["interactions"],
        loaded,
        name=loaded.get("name") or directory.name,
        source=str(directory),
    )
