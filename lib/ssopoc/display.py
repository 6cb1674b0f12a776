"""Tables that notebooks display: HTML in Jupyter, fixed-width text elsewhere.

The text form is stable (no timestamps, fixed column order), so a reference output
stored in a notebook compares equal on the next run.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

WIDTH = 60


class Table:
    """Rows of strings under named columns."""

    def __init__(
        self, columns: Sequence[str], rows: Sequence[Sequence[object]], footer: str = ""
    ) -> None:
        self.columns = tuple(columns)
        self.rows = [tuple(str(cell) for cell in row) for row in rows]
        self.footer = footer

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        grid = [self.columns, *self.rows]
        widths = [
            min(max(len(row[i]) for row in grid), WIDTH)
            for i in range(len(self.columns))
        ]
        lines = [
            " | ".join(
                cell[:WIDTH].ljust(widths[i]) for i, cell in enumerate(row)
            ).rstrip()
            for row in grid
        ]
        lines.insert(1, "-+-".join("-" * w for w in widths))
        if self.footer:
            lines.append(self.footer)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>"
            + "".join(
                self._cell(c, cell) for c, cell in zip(self.columns, row, strict=True)
            )
            + "</tr>"
            for row in self.rows
        )
        foot = f"<p>{html.escape(self.footer)}</p>" if self.footer else ""
        return (
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{foot}"
        )

    @staticmethod
    def _cell(column: str, value: str) -> str:
        if column == "status":
            return (
                f"<td class='ssopoc-{value.lower()}'><b>{html.escape(value)}</b></td>"
            )
        return f"<td>{html.escape(value)}</td>"
