"""Treat every user string as data: escape it for HTML, defuse it for spreadsheets, tame file names.

Column names, cell values and file names come from strangers' uploads. They may reach three places
where a string can become code: HTML (a report, or Markdown that Streamlit renders), a spreadsheet that
opens an exported CSV (`=HYPERLINK(...)`, `+cmd|...`), and a path on disk. One helper for each.
"""

from __future__ import annotations

import html
import os
import re
import unicodedata
from typing import TYPE_CHECKING, TypeVar

import pandas as pd

if TYPE_CHECKING:
    from pathlib import Path

T = TypeVar("T")

__all__ = [
    "escape_html",
    "escape_markdown",
    "neutralise_formula",
    "neutralise_frame",
    "safe_csv_bytes",
    "safe_filename",
    "FORMULA_PREFIXES",
    "file_in_folder",
    "PathRefused",
    "markdown_code",
    "plotly_text",
]

# Characters that make Excel / LibreOffice / Sheets treat a cell as a formula (OWASP "CSV injection"):
# = + - @, plus tab and carriage return which some spreadsheets strip before looking.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def escape_html(value: object) -> str:
    """`value` as text that HTML shows literally: <, >, &, and both quotes become entities."""
    return html.escape(str(value), quote=True)


_AUTOLINK = re.compile(r"(?i)(\\:)(//)|(www)(\\\.)|(@)")
_ZERO_WIDTH = "\u200b"


def escape_markdown(value: object) -> str:
    """`value` as text that st.markdown shows literally (no links, emphasis, HTML or LaTeX).

    Besides the Markdown specials, GitHub-flavoured autolinks are broken: a bare `http://…`, `www.…`
    or `name@host` would still become a link, so a zero-width space goes after `:`, `www` and `@`."""
    text = str(value).replace("\r", " ").replace("\n", " ")
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return _AUTOLINK.sub(
        lambda m: _ZERO_WIDTH.join(g for g in m.groups() if g) if not m.group(5) else m.group(5) + _ZERO_WIDTH, escaped
    )


def markdown_code(value: object) -> str:
    """`value` as an inline code span that st.markdown shows literally (no backslashes appear in it).

    Inside backticks Markdown escapes do not apply, so the value is not escaped; the fence is one
    backtick longer than the longest run of backticks in the value, with spaces when it starts or ends
    with one."""
    text = str(value).replace("\r", " ").replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def plotly_text(value: object) -> str:
    """`value` for a Plotly label (title, tick, hover, legend): Plotly reads <b>, <a href>, <br> as markup,
    so the characters that start it are written as entities, which Plotly shows literally."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def neutralise_formula(value: T) -> T | str:
    """A spreadsheet-safe cell: strings starting with a formula character get a leading apostrophe.

    Plain numbers written as text ("-3.5", "+1e3") are left alone: spreadsheets read them as numbers,
    not formulas. Non-strings (ints, floats, None) are returned unchanged.
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_PREFIXES):
        return value
    if _PLAIN_NUMBER.match(value):
        return value
    return "'" + value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose string cells, column names and index labels are formula-safe."""
    out = frame.copy()
    out.columns = [neutralise_formula(str(c)) for c in out.columns]
    if out.index.dtype == object or pd.api.types.is_string_dtype(out.index):
        out.index = [neutralise_formula(i) if isinstance(i, str) else i for i in out.index]
        out.index.name = neutralise_formula(frame.index.name) if frame.index.name else frame.index.name
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise_formula).astype(object)
    return out


def safe_csv_bytes(frame: pd.DataFrame, index: bool = False) -> bytes:
    """UTF-8 CSV of `frame` for download, with every formula-looking string defused."""
    return neutralise_frame(frame).to_csv(index=index).encode("utf-8")


def safe_filename(name: str, default: str = "download", max_length: int = 80) -> str:
    """A file name with no folders, no control or shell-special characters, and a sane length."""
    text = unicodedata.normalize("NFKC", str(name)).replace("\\", "/").split("/")[-1]
    text = re.sub(r"[^\w.\- ]+", "_", text, flags=re.UNICODE).strip(" ._")
    return text[:max_length].rstrip(" .") or default


class PathRefused(ValueError):
    """A typed path that leaves its allowed folder, is a link, or is not a plain file there."""


def file_in_folder(folder: str | os.PathLike, name: str, suffixes: tuple[str, ...] = (".parquet",)) -> Path:
    """The plain file `name` inside `folder` (a browser user's text), or PathRefused.

    Only a relative name is accepted; it is resolved and must stay inside the resolved folder; no part
    of it may be a symbolic link (a link could point anywhere on the server); it must be a regular file
    with one of `suffixes`. Messages never show the server's path of the folder."""
    from pathlib import Path

    root = Path(folder).resolve(strict=True)
    text = str(name).strip()
    relative = Path(text)
    if not text or "\x00" in text or relative.is_absolute() or ".." in relative.parts or text.startswith("~"):
        raise PathRefused(f"'{text}': give a file name inside the batch folder (no absolute paths, '..' or '~')")
    current = root
    for part in relative.parts:
        current = current / part
        if current.is_symlink():
            raise PathRefused(f"'{text}': symbolic links are not followed")
    resolved = current.resolve()
    if root not in resolved.parents:
        raise PathRefused(f"'{text}' is outside the batch folder")
    if resolved.suffix.lower() not in suffixes:
        raise PathRefused(f"'{text}': only {', '.join(suffixes)} files are read here")
    if not resolved.is_file():
        raise PathRefused(f"'{text}': no such file in the batch folder")
    return resolved
