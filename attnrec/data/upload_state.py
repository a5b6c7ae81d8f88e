"""What the Data page remembers between reruns (`UploadState`: uploaded tables, their sources and errors),
and building a dataset from those tables under a column mapping. No Streamlit."""

from __future__ import annotations

from dataclasses import dataclass, field

from attnrec.data.mapping import ROLE_HIDE, build_schema
from attnrec.data.types import DataError, Dataset
from attnrec.data.uploads import TABLE_ROLES, read_uploaded_table, read_zip, split_tables


@dataclass
class UploadState:
    """The Data page's uploaded tables. A failed upload records its message and keeps the last good table.

    `fingerprints` stops a rerun from re-reading a file the uploader still holds; `errors` maps a
    role (or "zip") to the message of its last failed upload, cleared when that slot succeeds.
    """

    tables: dict = field(default_factory=dict)  # role → DataFrame
    sources: dict = field(default_factory=dict)  # role → file name it came from
    fingerprints: dict = field(default_factory=dict)  # slot → fingerprint of the last file handled
    errors: dict = field(default_factory=dict)  # slot → message

    @property
    def complete(self) -> bool:
        return all(role in self.tables for role in TABLE_ROLES)

    def accept_table(self, role: str, filename: str, data: bytes, fingerprint: object = None) -> bool:
        """Read one table upload into `role`; on failure record the message and keep what was there.

        The upload counts as handled (its fingerprint recorded) only once reading has finished, with
        its table or its error stored alongside: no outcome leaves the slot looking accepted."""
        if role not in TABLE_ROLES:
            raise ValueError(f"role must be one of {TABLE_ROLES}, got {role!r}")
        fingerprint = fingerprint if fingerprint is not None else (filename, len(data), hash(data))
        if self.fingerprints.get(role) == fingerprint:
            return role not in self.errors
        try:
            table = read_uploaded_table(filename, data)
        except DataError as err:
            self.errors[role], self.fingerprints[role] = str(err), fingerprint
            return False
        self.tables[role], self.sources[role], self.fingerprints[role] = table, filename, fingerprint
        self.errors.pop(role, None)
        self.errors.pop("zip", None)  # a failed zip is superseded by tables uploaded one by one
        return True

    def accept_zip(self, filename: str, data: bytes, fingerprint: object = None) -> bool:
        """Read a zip of the three tables; all three are replaced only if every one reads cleanly."""
        fingerprint = fingerprint if fingerprint is not None else (filename, len(data), hash(data))
        if self.fingerprints.get("zip") == fingerprint:
            return "zip" not in self.errors
        try:
            found = split_tables(read_zip(data, filename), filename)
            tables = {role: read_uploaded_table(name, content) for role, (name, content) in found.items()}
        except DataError as err:
            self.errors["zip"], self.fingerprints["zip"] = str(err), fingerprint
            return False
        self.tables.update(tables)
        self.sources.update({role: f"{filename}/{name}" for role, (name, _) in found.items()})
        self.fingerprints["zip"] = fingerprint
        for slot in ("zip", *TABLE_ROLES):
            self.errors.pop(slot, None)
        return True

    def withdraw(self, slot: str) -> None:
        """The uploader of `slot` was emptied: forget its failed file (a kept table stays)."""
        if slot in self.errors:
            self.errors.pop(slot)
            self.fingerprints.pop(slot, None)

    def ready_tables(self) -> dict:
        """The three tables to validate, or a DataError naming the slot while any upload slot is in error
        (a dataset must never be built from the other slots plus an older table)."""
        if self.errors:
            slot = next(iter(self.errors))
            what = "the zip" if slot == "zip" else f"the {slot} upload"
            raise DataError(
                f"{what} failed ({self.errors[slot]}); upload a readable file there, or remove it, "
                f"before keeping a dataset"
            )
        return dict(self.tables)


def dataset_from_mapping(tables: dict, mapping: dict, name: str, source: str = "upload") -> tuple[Dataset, dict]:
    """Validate the uploaded tables under a column mapping → (Dataset, schema). DataError if anything is off.

    `mapping` holds build_schema's keywords plus, optionally, "interaction_user" / "interaction_item":
    the interactions table's id columns when they are named differently from the users/items id columns
    (they are renamed to match, since the schema names each id once).
    """
    from attnrec.data.own import load_own_dataset

    missing = [role for role in TABLE_ROLES if role not in tables]
    if missing:
        raise DataError(f"upload the {' and '.join(missing)} table(s) first")
    if not str(name).strip():
        raise DataError("give the dataset a name")
    keywords = {k: v for k, v in mapping.items() if k not in ("interaction_user", "interaction_item")}
    schema = build_schema(**keywords)
    interactions = tables["interactions"]
    renames = {mapping.get("interaction_user"): schema["user_id"], mapping.get("interaction_item"): schema["item_id"]}
    renames = {old: new for old, new in renames.items() if old and old != new}
    if renames:
        clash = [new for new in renames.values() if new in interactions.columns and new not in renames]
        if clash:
            raise DataError(
                f"the interactions table already has a column '{clash[0]}'; map it as the id column or rename it",
                file=interactions.attrs.get("source_file"),
                column=clash[0],
            )
        attrs = dict(interactions.attrs)
        interactions = interactions.rename(columns=renames)
        interactions.attrs.update(attrs)
    # Hidden columns leave the kept tables (the schema never names them as features).
    users, items = (
        tables[role].drop(
            columns=[
                c
                for c, r in (mapping.get(f"{side}_roles") or {}).items()
                if r == ROLE_HIDE and c in tables[role].columns
            ]
        )
        for role, side in (("users", "user"), ("items", "item"))
    )
    for frame, role in ((users, "users"), (items, "items")):
        frame.attrs.update(tables[role].attrs)
    dataset = load_own_dataset(users, items, interactions, schema, name=str(name).strip(), source=source)
    if schema.get("aligned_pairs"):
        from attnrec.data.featurize import compile_aligned_pairs

        compile_aligned_pairs(dataset)  # a pair that shares no value is refused now, not later at Train
    return dataset, schema
