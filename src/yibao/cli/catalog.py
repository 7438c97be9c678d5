"""``yibao catalog import``: the agency loads a catalogue from a CSV or Excel file (one new version)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import typer

from yibao.cli.output import make_console
from yibao.errors import DomainError
from yibao.services.platform import Platform
from yibao.services.reference import downloads, import_catalogue
from yibao.storage.opening import CannotOpen, open_store

catalog_app = typer.Typer(help="目录：导入经办机构的医保目录（供目录下载与结算使用）", no_args_is_help=True)
console = make_console()


def read_csv(path: Path) -> list[dict[str, str]]:
    """UTF-8 (with or without BOM), else GB18030, as spreadsheets save it; the first row names the columns."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")
    return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]


def read_xlsx(path: Path) -> list[dict[str, str]]:
    """The first sheet of an Excel workbook; the first row names the columns."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(c).strip() if c is not None else "" for c in next(rows, ())]
        out = []
        for row in rows:
            if row is None or all(c is None or str(c).strip() == "" for c in row):
                continue
            out.append({h: _cell(c) for h, c in zip(header, row, strict=False) if h})
        return out
    finally:
        book.close()


def _cell(value) -> str:
    """A cell as the text a person typed: whole numbers without ".0", dates as yyyy-MM-dd."""
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@catalog_app.command("import")
def catalog_import(
    infno: str = typer.Argument(..., help="目录下载交易编号，如 1301（西药中成药）、1305（医疗服务项目）"),
    path: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="CSV 或 Excel（.xlsx）文件，首行为列名（规范的文件列名）"
    ),
    db: str = typer.Option("yibao.sqlite", "--db", help="数据库 URL 或 SQLite 文件路径"),
) -> None:
    """导入一个目录：作为该目录的新版本；HIS 以 1301–1327 下载，结算按导入的等级、先自付比例与限价计算。"""
    try:
        p = Platform(open_store(db))
    except CannotOpen as exc:
        console.print(str(exc), style="red", markup=False)
        raise typer.Exit(2) from None
    try:
        rows = read_xlsx(path) if path.suffix.lower() in (".xlsx", ".xlsm") else read_csv(path)
        ver, count = import_catalogue(p, infno, rows)
    except DomainError as exc:
        console.print(exc.err_msg, style="red", markup=False, highlight=False)
        raise typer.Exit(2) from None
    console.print(f"已导入 {infno} 目录 {count} 条，版本号 {ver}。", markup=False)


__all__ = ["catalog_app", "downloads"]
