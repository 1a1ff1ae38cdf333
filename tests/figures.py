"""Figures the reliability suites collect; printed at the end of the run (docs/reliability.md
quotes them)."""

from __future__ import annotations

from collections import Counter

from asset_catalog import VerifyReport

#: Fault points injected and survived, per backend.
FAULT_POINTS: Counter[str] = Counter()
#: verify() runs per suite, and the findings and rows they covered.
VERIFY_RUNS: Counter[str] = Counter()
VERIFY_FINDINGS: Counter[str] = Counter()
VERIFY_OBJECTS: Counter[str] = Counter()
#: Stateful examples run, per backend.
STATEFUL_EXAMPLES: Counter[str] = Counter()


def record_verify(suite: str, report: VerifyReport) -> None:
    VERIFY_RUNS[suite] += 1
    VERIFY_FINDINGS[suite] += report.total
    VERIFY_OBJECTS[suite] += report.objects_checked


def summary_lines() -> list[str]:
    lines = []
    if FAULT_POINTS:
        per = ", ".join(f"{name}: {n}" for name, n in sorted(FAULT_POINTS.items()))
        lines.append(f"fault points injected and survived: {FAULT_POINTS.total()} ({per})")
    if STATEFUL_EXAMPLES:
        per = ", ".join(f"{name}: {n}" for name, n in sorted(STATEFUL_EXAMPLES.items()))
        lines.append(f"stateful examples run: {STATEFUL_EXAMPLES.total()} ({per})")
    for suite in sorted(VERIFY_RUNS):
        lines.append(
            f"verify() after {suite}: {VERIFY_RUNS[suite]} runs over"
            f" {VERIFY_OBJECTS[suite]} object rows, {VERIFY_FINDINGS[suite]} findings"
        )
    return lines
