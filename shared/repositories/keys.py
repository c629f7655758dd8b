"""The single-table key schema. Every access pattern is listed in README "Data model"."""

from __future__ import annotations

from datetime import datetime

from shared.clock import iso


def program(program_id: str) -> tuple[str, str]:
    return (f"PROGRAM#{program_id}", "PROGRAM")


PROGRAMS_INDEX = "PROGRAMS"


def advocate(advocate_id: str) -> tuple[str, str]:
    return (f"ADVOCATE#{advocate_id}", "ADVOCATE")


def enrolment(program_id: str, customer_id: str) -> tuple[str, str]:
    return (f"ENROLMENT#{program_id}#{customer_id}", "ENROLMENT")


def code(referral_code: str) -> tuple[str, str]:
    return (f"CODE#{referral_code}", "CODE")


def referral(referral_id: str) -> tuple[str, str]:
    return (f"REFERRAL#{referral_id}", "REFERRAL")


def referee(program_id: str, customer_id: str) -> tuple[str, str]:
    return (f"REFEREE#{program_id}#{customer_id}", "REFEREE")


def event(referral_id: str, dedupe_key: str) -> tuple[str, str]:
    return (f"REFERRAL#{referral_id}", f"EVENT#{dedupe_key}")


EVENT_PREFIX = "EVENT#"


def program_referrals(program_id: str) -> str:
    return f"PROGRAM#{program_id}#REFERRALS"


def program_advocates(program_id: str) -> str:
    return f"PROGRAM#{program_id}#ADVOCATES"


def status_partition(status: str) -> str:
    return f"STATUS#{status}"


def evidence(kind: str, value: str) -> str:
    return f"EV#{kind}#{value}"


def evidence_sort(occurred_at: datetime, subject_id: str, role: str) -> str:
    return f"{iso(occurred_at)}#{subject_id}#{role}"


def customer(customer_id: str) -> str:
    """Every record naming a customer, for erasure."""
    return f"CUSTOMER#{customer_id}"
