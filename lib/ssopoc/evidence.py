"""Evidence: what a notebook expected, what it observed, and the verdict.

Every record is appended to `evidence.jsonl` in the run folder the moment it is
made, so an interrupted run keeps what it found. A FAIL is a finding, not a crash:
recording one never raises, and the notebook goes on.
"""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from ssopoc import redact
from ssopoc.display import Table


class Status(StrEnum):
    """The verdict of one record."""

    PASS = "PASS"
    FAIL = "FAIL"
    OBSERVED = "OBSERVED"
    SKIPPED = "SKIPPED"
    ERROR = "ERROR"


@dataclass(frozen=True)
class Record:
    """One piece of evidence, as written to `evidence.jsonl`."""

    notebook: str
    number: int
    criterion: str
    expected: Any
    observed: Any
    status: Status
    source: str = ""
    note: str = ""
    kind: str = "check"
    time: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds")
    )

    def as_json(self) -> dict[str, Any]:
        """The record as JSON-ready data, with secrets masked."""
        data: dict[str, Any] = redact.data(asdict(self))
        data["status"] = str(self.status)
        return data


def shown(value: Any) -> str:
    """Render an expected or observed value as one short line for a table."""
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return redact.text(text)


class EvidenceTable(Table):
    """The evidence records of a notebook as a table, with a count per status."""

    COLUMNS = ("#", "criterion", "expected", "observed", "status")

    def __init__(self, records: list[Record]) -> None:
        self.records = records
        rows = [
            (r.number, r.criterion, shown(r.expected), shown(r.observed), r.status)
            for r in records
        ]
        summary = ", ".join(f"{n} {s}" for s, n in self.counts().items() if n)
        super().__init__(self.COLUMNS, rows, f"({summary or 'no records'})")

    def counts(self) -> dict[str, int]:
        """How many records have each status (all statuses, zeros included)."""
        totals = {str(status): 0 for status in Status}
        for record in self.records:
            totals[str(record.status)] += 1
        return totals


class Evidence:
    """The evidence recorder of one notebook in one run.

    `check` compares, `observe` records a fact, `skip` records a reason, and
    `guard` turns an exception in a block into an ERROR record.
    """

    def __init__(self, path: Path, notebook: str) -> None:
        self.path = path
        self.notebook = notebook
        self.records: list[Record] = []
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def _add(
        self,
        criterion: str,
        expected: Any,
        observed: Any,
        status: Status,
        source: str,
        note: str = "",
        kind: str = "check",
    ) -> Record:
        with self._lock:
            record = Record(
                notebook=self.notebook,
                number=len(self.records) + 1,
                criterion=criterion,
                expected=expected,
                observed=observed,
                status=status,
                source=source,
                note=note,
                kind=kind,
            )
            self.records.append(record)
            line = json.dumps(record.as_json(), default=str)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        return record

    def check(
        self,
        criterion: str,
        expected: Any,
        observed: Any,
        *,
        source: str = "",
        compare: Callable[[Any, Any], bool] | None = None,
    ) -> Record:
        """Record PASS when `observed` matches `expected` (`==` unless `compare`)."""
        try:
            ok = compare(expected, observed) if compare else expected == observed
        except Exception as error:  # a broken comparison is an ERROR, not a crash
            return self._add(
                criterion, expected, observed, Status.ERROR, source, repr(error)
            )
        status = Status.PASS if ok else Status.FAIL
        return self._add(criterion, expected, observed, status, source)

    def observe(self, criterion: str, observed: Any, *, source: str = "") -> Record:
        """Record a fact seen, with no verdict (OBSERVED)."""
        return self._add(criterion, None, observed, Status.OBSERVED, source)

    def skip(self, criterion: str, reason: str, *, source: str = "") -> Record:
        """Record that a check did not run, and why (SKIPPED)."""
        return self._add(criterion, None, reason, Status.SKIPPED, source, reason)

    def error(
        self, criterion: str, error: BaseException, *, source: str = ""
    ) -> Record:
        """Record an exception that stopped a check (ERROR)."""
        summary = f"{type(error).__name__}: {error}"
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        return self._add(criterion, None, summary, Status.ERROR, source, detail)

    @contextmanager
    def guard(self, criterion: str, *, source: str = "") -> Iterator[None]:
        """Run a block; an exception inside it becomes an ERROR record, not a crash."""
        try:
            yield
        except Exception as error:
            self.error(criterion, error, source=source)

    def verdict(
        self,
        claim: str,
        supporting: list[Record],
        key_values: dict[str, Any],
        *,
        source: str = "",
    ) -> Record:
        """Record the verdict on a notebook's claim, from the records that support it.

        ERROR if any supporting record is an ERROR, FAIL if any FAILed, SKIPPED if
        none was checked, PASS otherwise. `key_values` are the observed values a
        reader needs beside the verdict (ids, emails, account types); the runner's
        summary and `findings.md` show them.
        """
        statuses = {record.status for record in supporting}
        if Status.ERROR in statuses:
            status = Status.ERROR
        elif Status.FAIL in statuses:
            status = Status.FAIL
        elif Status.PASS in statuses:
            status = Status.PASS
        else:
            status = Status.SKIPPED
        basis = ", ".join(f"#{r.number}" for r in supporting)
        return self._add(
            claim, "PASS", key_values, status, source, f"from {basis}", "verdict"
        )

    def table(self) -> EvidenceTable:
        """The records so far, for display."""
        return EvidenceTable(list(self.records))


def read_records(path: Path) -> list[dict[str, Any]]:
    """Read every record of an `evidence.jsonl` file."""
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
