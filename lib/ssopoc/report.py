"""Findings: a plain summary of a run's evidence, in Markdown and HTML.

For each notebook: how many records have each status, the FAIL and ERROR records
spelled out, then every record. A later report adds the strategy comparison.
"""

from __future__ import annotations

import html
from collections import defaultdict
from pathlib import Path
from typing import Any

from ssopoc.evidence import Status, read_records, shown

STATUSES = [str(s) for s in Status]


def summarise(records: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Count records by notebook and status."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
    for record in records:
        counts[record["notebook"]][record["status"]] += 1
    return dict(counts)


def _md_cell(value: Any) -> str:
    return shown(value).replace("|", "\\|").replace("\n", " ")


def markdown(run_dir: Path) -> str:
    """The findings of one run as Markdown."""
    records = read_records(run_dir / "evidence.jsonl")
    counts = summarise(records)
    lines = [f"# Findings: {run_dir.name}", ""]
    verdicts = [r for r in records if r.get("kind") == "verdict"]
    if verdicts:
        lines += ["## Verdicts", ""]
        for r in verdicts:
            lines.append(f"- **{r['status']}** {r['criterion']} ({r['notebook']})")
            for key, value in (r.get("observed") or {}).items():
                lines.append(f"  - {key}: {_md_cell(value)}")
        lines.append("")
    lines += ["| notebook | " + " | ".join(STATUSES) + " |"]
    lines += ["|---" * (len(STATUSES) + 1) + "|"]
    for notebook, row in counts.items():
        lines.append(
            f"| {notebook} | " + " | ".join(str(row[s]) for s in STATUSES) + " |"
        )
    problems = [r for r in records if r["status"] in ("FAIL", "ERROR")]
    lines += ["", "## Failures and errors", ""]
    if not problems:
        lines.append("None.")
    for r in problems:
        lines.append(
            f"- **{r['status']}** {r['notebook']} #{r['number']} {r['criterion']}: "
            f"expected {_md_cell(r['expected'])}, observed {_md_cell(r['observed'])}"
        )
    for notebook in counts:
        lines += ["", f"## {notebook}", ""]
        lines += ["| # | criterion | expected | observed | status | source |"]
        lines += ["|---|---|---|---|---|---|"]
        for r in (r for r in records if r["notebook"] == notebook):
            cells = [str(r["number"]), r["criterion"], _md_cell(r["expected"])]
            cells += [_md_cell(r["observed"]), r["status"], _md_cell(r.get("source"))]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


_STYLE = (
    "body{font-family:sans-serif;max-width:70em;margin:2em auto}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em}"
    ".PASS{color:#075}.FAIL,.ERROR{color:#b00;font-weight:bold}"
)


def html_page(run_dir: Path) -> str:
    """The findings of one run as a self-contained HTML page."""
    records = read_records(run_dir / "evidence.jsonl")
    counts = summarise(records)
    esc = html.escape
    parts = [
        f"<!doctype html><meta charset='utf-8'><title>{esc(run_dir.name)}</title>",
        f"<style>{_STYLE}</style><h1>Findings: {esc(run_dir.name)}</h1>",
        "<table><tr><th>notebook</th>"
        + "".join(f"<th>{s}</th>" for s in STATUSES)
        + "</tr>",
    ]
    for notebook, row in counts.items():
        parts.append(
            f"<tr><td>{esc(notebook)}</td>"
            + "".join(f"<td>{row[s]}</td>" for s in STATUSES)
            + "</tr>"
        )
    parts.append("</table>")
    for r in (r for r in records if r.get("kind") == "verdict"):
        parts.append(
            f"<h3 class='{r['status']}'>{r['status']}: {esc(r['criterion'])}</h3><ul>"
            + "".join(
                f"<li>{esc(str(k))}: {esc(shown(v))}</li>"
                for k, v in (r.get("observed") or {}).items()
            )
            + "</ul>"
        )
    for notebook in counts:
        parts.append(f"<h2>{esc(notebook)}</h2><table><tr>")
        parts.append(
            "".join(
                f"<th>{c}</th>"
                for c in ("#", "criterion", "expected", "observed", "status", "source")
            )
            + "</tr>"
        )
        for r in (r for r in records if r["notebook"] == notebook):
            parts.append(
                f"<tr><td>{r['number']}</td><td>{esc(r['criterion'])}</td>"
                f"<td>{esc(shown(r['expected']))}</td>"
                f"<td>{esc(shown(r['observed']))}</td>"
                f"<td class='{r['status']}'>{r['status']}</td>"
                f"<td>{esc(shown(r.get('source')))}</td></tr>"
            )
        parts.append("</table>")
    return "\n".join(parts) + "\n"


def write_findings(run_dir: Path) -> tuple[Path, Path]:
    """Write `findings.md` and `findings.html` into the run folder."""
    md_path = run_dir / "findings.md"
    html_path = run_dir / "findings.html"
    md_path.write_text(markdown(run_dir), encoding="utf-8")
    html_path.write_text(html_page(run_dir), encoding="utf-8")
    return md_path, html_path
