"""What the command line prints: tables and explanations that are never cut.

Rich crops what does not fit its width (80 columns in a pipe or a plain terminal): amounts became
``1500.…`` and explanations lost their ends. Here a money or code column is never narrowed or
wrapped (text columns fold instead); a table whose money and codes cannot fit the width is printed
one row per line; explanations are printed as whole lines, which a terminal wraps and a pipe keeps
whole. Nothing is ever replaced by an ellipsis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

Kind = Literal["text", "money", "code"]
TEXT_FLOOR = 10  # cells a text column is allowed to fold down to when estimating the fit

# Layouts tried in order: the framed look when it fits, then a compact one that spends no width on
# frames or outer padding.
LAYOUTS = (
    {"box": box.HEAVY_HEAD, "show_edge": True, "pad_edge": True},
    {"box": box.SIMPLE_HEAD, "show_edge": False, "pad_edge": False},
)


def make_console() -> Console:
    """Plain lines are never wrapped by Rich (``soft_wrap``): the terminal wraps them, a pipe keeps them."""
    return Console(soft_wrap=True)


@dataclass
class Sheet:
    """A table of text, money and code columns, printed whole: see the module docstring.

    A header may hold line breaks (``"本人\\n支出"``) so that it is no wider than its numbers.
    """

    title: str
    columns: list[tuple[str, Kind]]
    show_header: bool = True
    rows: list[tuple[str, ...]] = field(default_factory=list)

    def add_row(self, *cells: object) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(tuple("" if c is None else str(c) for c in cells))

    def print(self, console: Console) -> None:
        console.print(self.title, highlight=False, markup=False)  # a line of its own: never cut, never padded
        for layout in LAYOUTS:
            if self._needed_width(**layout) <= console.width:
                console.print(self._table(**layout), soft_wrap=False)
                return
        self._print_rows(console)

    # ---------------------------------------------------------------------------------------------

    def _widths(self) -> list[int]:
        """Each column's narrowest acceptable width: money and codes whole, text folded to a floor."""
        out = []
        for k, (header, kind) in enumerate(self.columns):
            cells = [row[k] for row in self.rows]
            lines = header.split("\n") if self.show_header else []
            if kind == "text":
                words = [w for c in cells for w in c.split()] + lines
                out.append(min(max((cell_len(w) for w in words), default=1), TEXT_FLOOR))
            else:
                out.append(max((cell_len(x) for x in [*cells, *lines]), default=1))
        return out

    def _needed_width(self, *, box, show_edge: bool, pad_edge: bool) -> int:
        n = len(self.columns)
        padding = 2 * n - (0 if pad_edge else 2)
        rules = (n - 1) + (2 if show_edge else 0)
        return sum(self._widths()) + padding + rules

    def _table(self, *, box, show_edge: bool, pad_edge: bool) -> Table:
        table = Table(
            box=box,
            show_edge=show_edge,
            pad_edge=pad_edge,
            show_header=self.show_header,
        )
        for header, kind in self.columns:
            if kind == "text":
                table.add_column(Text(header), overflow="fold")
            else:
                table.add_column(Text(header), no_wrap=True, justify="right" if kind == "money" else "left")
        for row in self.rows:
            table.add_row(*(Text(cell) for cell in row))  # text, never markup: "[E2207-003]" stays as written
        return table

    def _print_rows(self, console: Console) -> None:
        """One line per row, ``列名：值`` joined by ``；`` (empty cells left out)."""
        names = [h.replace("\n", "") for h, _ in self.columns]
        for row in self.rows:
            parts = [f"{n}：{c}" if self.show_header else c for n, c in zip(names, row, strict=True) if c]
            console.print("  " + "；".join(parts), highlight=False, markup=False)


def print_lines(console: Console, title: str, lines: list[str]) -> None:
    """An explanation: its title, then each sentence on a line of its own, never cut or re-wrapped."""
    console.print(Text(title, style="bold"))
    for line in lines:
        console.print("  " + line, highlight=False, markup=False)


MONTHLY = [
    ("月份", "text"),
    ("划入", "money"),
    ("本人\n支出", "money"),
    ("为亲属\n共济", "money"),
    ("结转", "money"),
    ("月末\n当年", "money"),
    ("月末\n历年", "money"),
    ("合计", "money"),
]


def monthly_sheet(title: str, rows) -> Sheet:
    """A person's account month by month (``services.statements.monthly_statement`` rows)."""
    sheet = Sheet(title, list(MONTHLY))
    for r in rows:
        sheet.add_row(r.month, r.credited, r.spent, r.shared, r.rolled, r.current, r.historical, r.total)
    return sheet
