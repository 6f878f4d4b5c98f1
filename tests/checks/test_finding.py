"""The finding type, the decision rule (from the interval alone) and the gate's three outcomes."""

from __future__ import annotations

from audit.checks._finding import Finding, Threshold, gate, guarded, judge, shown


def test_the_decision_rule_reads_the_interval_alone():
    t = Threshold("equalized_odds_difference", "<=", 0.05, "block")
    # The estimate inside, the interval outside: shown beyond (the old rule said "meets").
    assert shown(0.0, 0.064, 0.256, t) == "beyond" and judge(0.0, 0.064, 0.256, t) == "fail"
    assert judge(0.04, 0.01, 0.09, t) == "warn" and judge(0.01, 0.0, 0.04, t) == "pass"
    assert judge(0.2, 0.1, 0.3, Threshold("x", "<=", 0.05, "warn")) == "warn"


def test_gate_has_three_outcomes():
    def f(status: str, severity: str = "block", attribute: str | None = "sex") -> Finding:
        return Finding(check="fairness", category="fairness", status=status, severity=severity, message="",
                       threshold=Threshold("m", "<=", 0.1, severity), attribute=attribute)

    assert gate([f("pass"), f("pass")]) == "pass"
    assert gate([f("pass"), f("warn")]) == "inconclusive"
    assert gate([f("warn"), f("fail")]) == "fail"
    assert gate([f("pass"), f("warn", severity="warn")]) == "pass"
    # An overall metric that could not be measured holds the gate up; a group too small to judge does not.
    assert gate([f("pass"), f("insufficient_data", attribute=None)]) == "inconclusive"
    assert gate([f("pass"), f("insufficient_data")]) == "pass"


def test_a_crashing_check_becomes_one_error_finding_and_fails_the_gate():
    out = guarded("fairness", "fairness", "block", lambda: [][1])
    assert [(f.status, f.check) for f in out] == [("error", "fairness")] and "IndexError" in out[0].message
    assert gate(out) == "fail"
