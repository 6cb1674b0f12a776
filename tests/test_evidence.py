"""Evidence: records written at once, verdicts, and a stable table."""

from __future__ import annotations

import json
from pathlib import Path

from ssopoc import redact
from ssopoc.evidence import Evidence, Status, read_records


def test_each_record_is_on_disk_as_soon_as_it_is_made(tmp_path: Path) -> None:
    path = tmp_path / "evidence.jsonl"
    evidence = Evidence(path, "01_demo")
    evidence.check("user exists", "yes", "yes")
    assert len(read_records(path)) == 1
    evidence.observe("account type", "external")
    records = read_records(path)
    assert [r["status"] for r in records] == ["PASS", "OBSERVED"]
    assert records[1]["observed"] == "external"
    assert records[0]["notebook"] == "01_demo"


def test_verdicts(tmp_path: Path) -> None:
    evidence = Evidence(tmp_path / "e.jsonl", "nb")
    assert evidence.check("equal", 1, 1).status is Status.PASS
    assert evidence.check("different", 1, 2).status is Status.FAIL
    custom = evidence.check("at least", 3, 5, compare=lambda e, o: o >= e)
    assert custom.status is Status.PASS
    skipped = evidence.skip("login", "live login needs a person")
    assert skipped.status is Status.SKIPPED
    assert skipped.observed == "live login needs a person"


def test_a_broken_comparison_is_an_error_not_a_crash(tmp_path: Path) -> None:
    evidence = Evidence(tmp_path / "e.jsonl", "nb")
    record = evidence.check("bad compare", 1, "x", compare=lambda e, o: e > o)
    assert record.status is Status.ERROR
    assert "TypeError" in record.note


def test_guard_turns_an_exception_into_an_error_record(tmp_path: Path) -> None:
    evidence = Evidence(tmp_path / "e.jsonl", "nb")
    with evidence.guard("provision"):
        raise RuntimeError("the service said no")
    evidence.check("after the error the notebook goes on", True, True)
    statuses = [r.status for r in evidence.records]
    assert statuses == [Status.ERROR, Status.PASS]
    assert "RuntimeError: the service said no" in evidence.records[0].observed


def test_records_are_redacted_on_disk(tmp_path: Path) -> None:
    canary = "canary-aa55ee11bb22cc33"
    redact.register(canary)
    try:
        path = tmp_path / "e.jsonl"
        Evidence(path, "nb").observe("leaky", {"client_secret": "x1", "v": canary})
        text = path.read_text()
        assert canary not in text
        assert json.loads(text)["observed"] == {"client_secret": "***", "v": "***"}
    finally:
        redact.forget_all()


def test_table_text_is_stable_and_counts_statuses(tmp_path: Path) -> None:
    evidence = Evidence(tmp_path / "e.jsonl", "nb")
    evidence.check("a", "x", "x")
    evidence.check("b", "x", "y")
    evidence.observe("c", None)
    text = repr(evidence.table())
    assert text.splitlines()[0].split(" | ")[:2] == ["#", "criterion"]
    assert "1 PASS, 1 FAIL, 1 OBSERVED" in text
    assert text == repr(evidence.table())
    html = evidence.table()._repr_html_()
    assert "<b>FAIL</b>" in html and "ssopoc-fail" in html


def test_verdict_follows_its_supporting_records(tmp_path: Path) -> None:
    evidence = Evidence(tmp_path / "evidence.jsonl", "01_demo")
    passed = evidence.check("user pushed", "yes", "yes")
    seen = evidence.observe("account type", "external")
    failed = evidence.check("can log in", True, False)
    skipped = evidence.skip("live login", "sandbox")
    claim = "a user created in Entra ID reaches Jira Cloud"
    assert evidence.verdict(claim, [passed, seen], {"id": "a1"}).status is Status.PASS
    assert evidence.verdict(claim, [passed, failed], {}).status is Status.FAIL
    assert evidence.verdict(claim, [skipped, seen], {}).status is Status.SKIPPED
    with evidence.guard("broken"):
        raise OSError("gone")
    errored = evidence.records[-1]
    assert evidence.verdict(claim, [failed, errored], {}).status is Status.ERROR
    first = read_records(tmp_path / "evidence.jsonl")[4]
    assert first["kind"] == "verdict" and first["note"] == "from #1, #2"


def test_findings_lead_with_the_verdicts(tmp_path: Path) -> None:
    from ssopoc.report import write_findings

    evidence = Evidence(tmp_path / "evidence.jsonl", "01_demo")
    check = evidence.check("user pushed", "yes", "yes")
    evidence.verdict("the claim", [check], {"atlassianAccountId": "5b10ac8d"})
    md_path, html_path = write_findings(tmp_path)
    markdown = md_path.read_text()
    assert markdown.index("## Verdicts") < markdown.index("| notebook |")
    assert "- **PASS** the claim (01_demo)" in markdown
    assert "  - atlassianAccountId: 5b10ac8d" in markdown
    assert "PASS: the claim" in html_path.read_text()
