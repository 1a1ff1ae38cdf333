"""Figures the reliability suites collect; printed at the end of the run (docs/reliability.md
quotes them)."""

from __future__ import annotations

from collections import Counter

from asset_catalog import AssetCatalog, VerifyReport

#: Fault points injected and survived, per backend.
FAULT_POINTS: Counter[str] = Counter()
#: verify() runs per suite, and the findings and rows they covered.
VERIFY_RUNS: Counter[str] = Counter()
VERIFY_FINDINGS: Counter[str] = Counter()
VERIFY_OBJECTS: Counter[str] = Counter()
#: Stateful examples run, per backend.
STATEFUL_EXAMPLES: Counter[str] = Counter()
#: Bad-input corpus items and the calls made with them, per backend; fuzz examples per method.
CORPUS_ITEMS: Counter[str] = Counter()
CORPUS_CALLS: Counter[str] = Counter()
FUZZ_EXAMPLES: Counter[str] = Counter()


def record_verify(suite: str, report: VerifyReport) -> None:
    VERIFY_RUNS[suite] += 1
    VERIFY_FINDINGS[suite] += report.total
    VERIFY_OBJECTS[suite] += report.objects_checked


def assert_verified(catalog: AssetCatalog, suite: str) -> None:
    """Run verify() at the end of a suite's test: record it, and fail on any finding."""
    report = catalog.verify()
    record_verify(suite, report)
    assert report.ok, f"verify() after {suite}: {report.findings}"


def summary_lines() -> list[str]:
    lines = []
    if FAULT_POINTS:
        per = ", ".join(f"{name}: {n}" for name, n in sorted(FAULT_POINTS.items()))
        lines.append(f"fault points injected and survived: {FAULT_POINTS.total()} ({per})")
    if STATEFUL_EXAMPLES:
        per = ", ".join(f"{name}: {n}" for name, n in sorted(STATEFUL_EXAMPLES.items()))
        lines.append(f"stateful examples run: {STATEFUL_EXAMPLES.total()} ({per})")
    if CORPUS_ITEMS:
        per = ", ".join(
            f"{name}: {CORPUS_ITEMS[name]} items in {CORPUS_CALLS[name]} calls"
            for name in sorted(CORPUS_ITEMS)
        )
        lines.append(f"bad-input corpus: {per}")
    if FUZZ_EXAMPLES:
        lines.append(
            f"fuzz examples: {FUZZ_EXAMPLES.total()} over {len(FUZZ_EXAMPLES)} public methods"
        )
    for suite in sorted(VERIFY_RUNS):
        lines.append(
            f"verify() after {suite}: {VERIFY_RUNS[suite]} runs over"
            f" {VERIFY_OBJECTS[suite]} object rows, {VERIFY_FINDINGS[suite]} findings"
        )
    return lines
