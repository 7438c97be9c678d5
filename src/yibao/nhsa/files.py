"""Files exchanged beside the JSON messages (9101 up, 9102 down): a ZIP of UTF-8 TXT, one record
per line, TAB-separated, ``null`` for an empty value, columns in the order the spec's layout gives.

The layouts are the edition's: ``file_columns`` of a catalogue download's ``filename`` field
(1301–1327) and ``files`` of 3202 (the detail file the HIS uploads, the result file it fetches).
Nothing here reads a database or a clock.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from functools import cache

from yibao.nhsa.spec import _load

MAX_FILE_BYTES = 20 * 1024 * 1024  # an upload or a produced file, zipped (limits: one day's detail file)
MAX_TEXT_BYTES = 200 * 1024 * 1024  # unzipped: a ZIP that inflates past this is refused, not read
NULL = "null"


class FileFormatError(ValueError):
    """An uploaded file that is not a ZIP of TAB-separated UTF-8 text."""


@cache
def _raw() -> dict[str, dict]:
    return {i["infno"]: i for i in _load("interfaces.json")["interfaces"]}


@cache
def file_columns(infno: str) -> tuple[str, ...]:
    """The column labels of a catalogue download's file, in the spec's order (empty: not file-based)."""
    for node in _raw().get(infno, {}).get("output", []):
        for f in node["fields"]:
            if f.get("file_columns"):
                return tuple(f["file_columns"])
    return ()


@cache
def query_columns(infno: str) -> tuple[tuple[str, str], ...]:
    """(code, label) of a query-answered catalogue's rows (1304 民族药品目录): its output fields."""
    if infno != "1304":
        return ()
    return tuple((f["code"], f["label"]) for node in _raw()[infno]["output"] for f in node["fields"])


@cache
def file_layout(infno: str, index: int) -> tuple[str, ...]:
    """The field codes of an attached file layout (3202: 0 the upload, 1 the result)."""
    files = _raw().get(infno, {}).get("files") or []
    return tuple(f["code"] for f in files[index]["fields"]) if index < len(files) else ()


def cell(value: object) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return text if text else NULL


def zipped_text(name: str, rows: Iterable[Sequence[object]]) -> bytes:
    """One TXT member ``name`` with a line per row."""
    text = "".join("\t".join(cell(v) for v in row) + "\n" for row in rows)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, text.encode("utf-8"))
    return out.getvalue()


def read_zipped_text(content: bytes) -> list[list[str | None]]:
    """Every record of every TXT member, in order; ``null`` and empty cells are None."""
    try:
        z = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise FileFormatError("文件不是ZIP压缩包") from exc
    rows: list[list[str | None]] = []
    with z:
        members = [m for m in z.infolist() if not m.is_dir()]
        if not members:
            raise FileFormatError("压缩包中没有文件")
        if sum(m.file_size for m in members) > MAX_TEXT_BYTES:
            raise FileFormatError(f"解压后超过{MAX_TEXT_BYTES // 1024 // 1024}MB")
        for m in members:
            try:
                text = z.read(m).decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise FileFormatError(f"{m.filename} 不是UTF-8文本") from exc
            except (zipfile.BadZipFile, OSError, RuntimeError) as exc:  # a damaged or encrypted member
                raise FileFormatError(f"{m.filename} 无法解压") from exc
            for line in text.splitlines():
                if line.strip():
                    rows.append([None if c.strip() in ("", NULL) else c.strip() for c in line.split("\t")])
    return rows
