"""Referral intake and read models."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from shared.domain.commands import RecordEvent, RecordReferral
from shared.domain.referral_filter import ReferralFilter
from shared.domain.referrals import Decision, Referral, ReferralStatus, Risk
from shared.errors import InvalidRequest
from shared.schemas.common import (
    Amount,
    Context,
    Currency,
    Email,
    Identifier,
    Out,
    Strict,
    Timestamp,
    money_scale,
)


class RefereeIn(Strict):
    customer_id: Identifier
    email: Email


class ReferralCreate(Strict):
    program_id: Identifier
    referral_code: str = Field(min_length=1, max_length=64)
    referee: RefereeIn
    context: Context | None = None
    occurred_at: Timestamp | None = None

    def command(self) -> RecordReferral:
        return RecordReferral(
            program_id=self.program_id,
            referral_code=self.referral_code,
            referee_customer_id=self.referee.customer_id,
            referee_email=self.referee.email,
            context=self.context.command() if self.context else None,
            occurred_at=self.occurred_at,
        )


class ReferralCreated(Out):
    referral_id: str
    status: ReferralStatus


class EventCreate(Strict):
    type: Literal["signup", "purchase"]
    order_id: Identifier | None = None
    currency: Currency | None = None
    amount: Amount | None = None
    payment_fingerprint: str | None = Field(default=None, min_length=1, max_length=512)
    occurred_at: Timestamp | None = None

    _scale = field_validator("amount")(money_scale)

    @model_validator(mode="after")
    def _purchase_has_order(self) -> EventCreate:
        if self.type == "purchase":
            missing = [
                name for name in ("order_id", "amount", "currency") if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"a purchase needs {', '.join(missing)}")
        elif (self.amount is None) != (self.currency is None):
            raise ValueError("amount and currency go together")
        return self

    def command(self) -> RecordEvent:
        return RecordEvent(
            type=self.type,
            order_id=self.order_id,
            currency=self.currency,
            amount=self.amount,
            payment_fingerprint=self.payment_fingerprint,
            occurred_at=self.occurred_at,
        )


class EventAccepted(Out):
    referral_id: str
    type: Literal["signup", "purchase"]
    order_id: str | None
    qualifying: bool
    status: ReferralStatus
    occurred_at: Timestamp


# Evidence names other customers (possibly of other programs) and finance's blocklist
# notes: only these roles see it. A client sees each reason's code and message.
EVIDENCE_ROLES = frozenset({"finance"})


class ReasonOut(Out):
    code: str
    message: str
    evidence: dict[str, Any]


class ClientReasonOut(Out):
    """A reason as a client sees it: what was found, not whom it links to."""

    code: str
    message: str


class RiskOut(Out):
    score: float = Field(ge=0, le=100)
    decision: Decision
    reasons: list[ReasonOut]
    model_version: str
    scored_at: Timestamp

    @classmethod
    def of(cls, risk: Risk | None) -> RiskOut | None:
        if risk is None:
            return None
        return cls(
            score=float(risk.score),
            decision=risk.decision,
            reasons=[ReasonOut(**r.model_dump()) for r in risk.reasons],
            model_version=risk.model_version,
            scored_at=risk.scored_at,
        )


class ClientRiskOut(Out):
    """The risk without its evidence: score, decision, and each reason's code and message."""

    score: float = Field(ge=0, le=100)
    decision: Decision
    reasons: list[ClientReasonOut]
    model_version: str
    scored_at: Timestamp

    @classmethod
    def of(cls, risk: Risk | None) -> ClientRiskOut | None:
        if risk is None:
            return None
        return cls(
            score=float(risk.score),
            decision=risk.decision,
            reasons=[ClientReasonOut(code=r.code, message=r.message) for r in risk.reasons],
            model_version=risk.model_version,
            scored_at=risk.scored_at,
        )


def risk_view(risk: Risk | None, roles: frozenset[str]) -> RiskOut | ClientRiskOut | None:
    """The full risk for a caller with an evidence role, the client view for anyone else."""
    return RiskOut.of(risk) if roles & EVIDENCE_ROLES else ClientRiskOut.of(risk)


class RefereeOut(Out):
    customer_id: str


class ReferralOut(Out):
    referral_id: str
    program_id: str
    advocate_id: str
    referral_code: str
    referee: RefereeOut
    status: ReferralStatus
    risk: RiskOut | ClientRiskOut | None = Field(
        description="Finance sees each reason's evidence (RiskOut); a client sees the score, "
        "decision and each reason's code and message, never the evidence (ClientRiskOut)"
    )
    rewards: list[dict[str, Any]]
    occurred_at: Timestamp
    qualified_at: Timestamp | None
    qualifying_order_id: str | None
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(
        cls,
        referral: Referral,
        rewards: list[dict[str, Any]] | None = None,
        *,
        roles: frozenset[str],
    ) -> ReferralOut:
        """The referral as a caller with `roles` may see it (evidence for finance only)."""
        risk = risk_view(referral.risk, roles)
        return cls(
            referral_id=referral.referral_id,
            program_id=referral.program_id,
            advocate_id=referral.advocate_id,
            referral_code=referral.referral_code,
            referee=RefereeOut(customer_id=referral.referee_customer_id),
            status=referral.status,
            risk=risk,
            rewards=rewards or [],
            occurred_at=referral.occurred_at,
            qualified_at=referral.qualified_at,
            qualifying_order_id=referral.qualifying_order_id,
            created_at=referral.recorded_at,
            updated_at=referral.updated_at,
        )


class ReferralQuery(Strict):
    """GET /v1/referrals filters; `from` and `to` bound `occurred_at`, both included."""

    program_id: Identifier | None = None
    advocate_id: Identifier | None = None
    status: ReferralStatus | None = None
    # The parameters are named `from` and `to`, which Python reserves: declared by name so
    # the query, the 422s and the cursor's filter binding all use the parameter names.
    __annotations__["from"] = "Timestamp | None"
    __annotations__["to"] = "Timestamp | None"
    locals()["from"] = None
    locals()["to"] = None

    @field_validator("to")
    @classmethod
    def _not_before_from(cls, until: Any, info: ValidationInfo) -> Any:
        since = info.data.get("from")
        if until is not None and since is not None and since > until:
            raise ValueError("must not be before from")
        return until

    def command(self, roles: frozenset[str]) -> ReferralFilter:
        """The filter; a client lists one program at a time, finance one program or one
        advocate at a time."""
        if self.program_id is None and ("client" in roles or self.advocate_id is None):
            raise InvalidRequest.field(
                "program_id", "is required (finance may give advocate_id instead)", "missing"
            )
        return ReferralFilter(
            program_id=self.program_id,
            advocate_id=self.advocate_id,
            status=self.status,
            # Neither parameter is an attribute name (`from` cannot be one).
            since=self.__dict__["from"],
            until=self.__dict__["to"],
        )
