"""Every limit attnrec enforces on what strangers hand it, in one place.

One user of a shared server must not be able to take it down: each number below bounds memory, CPU or
disk that a single upload, checkpoint or training run may claim. Readers check these *before*
allocating (a Parquet file's metadata, a zip's directory, a config's declared sizes), so a refusal
costs almost nothing. Change a limit here and every reader, page and message follows.
No Streamlit, no torch: importing this module is free.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits", "LIMITS", "mb"]


@dataclass(frozen=True)
class Limits:
    """The limits; `LIMITS` holds the ones in force. Tests pass smaller ones to readers that accept them."""

    # ---- one uploaded file (matches server.maxUploadSize in .streamlit/config.toml) and zips ----
    file_bytes: int = 50 * 1024 * 1024  # one uploaded file, as received
    zip_total_bytes: int = 200 * 1024 * 1024  # all entries of a zip, inflated
    zip_entry_bytes: int = 100 * 1024 * 1024  # one entry, inflated
    zip_entries: int = 16  # files inside one zip
    zip_ratio: float = 100.0  # inflated / compressed, per entry

    # ---- tables (CSV and Parquet alike), checked while reading / from Parquet metadata ----
    table_rows: int = 1_000_000  # data rows in one table
    table_columns: int = 1_000  # columns in one table
    table_cells: int = 10_000_000  # rows × columns in one table
    csv_cell_chars: int = 131_072  # characters in one CSV cell (Python's csv default)
    parquet_bytes: int = 256 * 1024 * 1024  # a Parquet file's data, uncompressed (from its metadata)
    parquet_decoded_bytes: int = 256 * 1024 * 1024  # its values once decoded (dictionaries expanded)

    # ---- values ----
    magnitude: float = 1e12  # |number| in a numeric column (float32 encodings, x², sums)
    typed_magnitude: float = 1e6  # |number| typed into a page (X, Y, weights)

    # ---- dense encodings (latent one-hot / multi-hot / ids; aligned dimensions) ----
    encoded_columns: int = 20_000  # encoded columns on one side (users or items)
    encoded_cells: int = 25_000_000  # rows × encoded columns on one side (100 MB as float32)
    categorical_values: int = 256  # values a latent categorical / multi field keeps as columns;
    # rarer ones (and unseen ones) share one "(other)" column

    # ---- checkpoints (sizes a config may declare; counted before anything is allocated) ----
    checkpoint_d: int = 4096
    checkpoint_heads: int = 64
    checkpoint_hidden: int = 16384
    checkpoint_columns: int = 200_000  # user_columns / item_columns
    checkpoint_weights: int = 50_000_000  # parameters the config implies (200 MB of float32)
    checkpoint_temperature: float = 1e6  # |temperature|
    config_bytes: int = 5 * 1024 * 1024  # config.json / schema.json

    # ---- training on the server ----
    concurrent_trainings: int = 2  # running at once, server-wide; the rest wait in a queue
    queued_trainings: int = 8  # waiting at once; more are refused
    training_epoch_rows: int = 20_000_000  # epochs × interactions of one run
    training_seconds: float = 30 * 60  # wall-clock time of one run (then it stops, keeping the best)
    session_grace_seconds: float = 20.0  # a run whose browser session has gone stops after this


LIMITS = Limits()


def mb(n: int) -> str:
    """Bytes as megabytes for messages ("12.5 MB")."""
    return f"{n / (1024 * 1024):.1f} MB"
