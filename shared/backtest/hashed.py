"""Backtest lines whose personal values are already keyed hashes (`"hashed": true`).

An exported history carries the stored `Fingerprint` of each party instead of raw
addresses, devices and user agents, and payment hashes instead of card fingerprints. The
replay's services take raw values and hash them, so each hashed line is turned into a
raw-shaped body of stand-in values, and the replay's hasher is told which digest each
stand-in has: the stored digests pass straight into the replayed fingerprints, and every
link between records the live table had, the replay has too.

A stand-in keeps what intake derives from the raw value: an IP's /48 network (the
stand-in is an IPv6 address), a throwaway-mail domain, an automation user agent. The
mailbox names are chosen so the referee's is as similar to the advocate's as the live
addresses were (`email_similarity` on the referral line, 0 when absent).
"""

from __future__ import annotations

from typing import Any

from shared.domain.evidence import Fingerprint
from shared.domain.intake_attributes import IntakeAttributes
from shared.pii import PiiHasher, PiiKind, canonical_email, email_domain, ip_prefix
from shared.scoring.evidence.email import email_local_similarity

# The advocate's stand-in mailbox: one letter repeated, so a referee's mailbox of m such
# letters and some digits matches exactly m characters (SequenceMatcher ratio 2m/(40+len)).
ADVOCATE_MAILBOX = "z" * 40
_THROWAWAY = "mailinator.com"
_KEPT = "hashed.invalid"
_SIMILARITY_SEARCH = 400


class KnownDigests(PiiHasher):
    """The replay's hasher: raw values are hashed with its key; stand-ins of hashed lines
    give the stored digest they were made for."""

    def __init__(self, key: bytes) -> None:
        super().__init__(lambda: key)
        self._known: dict[tuple[PiiKind, str], str] = {}
        self._attributes: dict[tuple[str | None, ...], IntakeAttributes] = {}

    def know(self, kind: PiiKind, stand_in: str, digest: str) -> None:
        self._known[(kind, stand_in.strip().lower())] = digest

    def know_attributes(self, stand_ins: tuple[str | None, ...], read: IntakeAttributes) -> None:
        self._attributes[stand_ins] = read

    def stored_attributes(self, *raw: str | None) -> IntakeAttributes | None:
        return self._attributes.get(raw)

    def digest(self, kind: PiiKind, value: str) -> str:
        known = self._known.get((kind, value.strip().lower()))
        return known if known is not None else super().digest(kind, value)


class HashedInputs:
    """Raw-shaped bodies for hashed lines, registering each stand-in with the hasher."""

    def __init__(self, hasher: KnownDigests) -> None:
        self._hasher = hasher

    def advocate(self, body: dict[str, Any]) -> dict[str, Any]:
        prints = Fingerprint.model_validate(body.get("fingerprint") or {})
        rest = {k: v for k, v in body.items() if k != "fingerprint"}
        email = self._email(prints, ADVOCATE_MAILBOX)
        context = self._context(prints)
        self._keep_attributes(prints, email, context)
        return {**rest, "email": email, "context": context}

    def referral(self, body: dict[str, Any]) -> dict[str, Any]:
        prints = Fingerprint.model_validate(body.get("fingerprint") or {})
        referee = dict(body.get("referee") or {})
        similarity = float(body.get("email_similarity") or 0.0)
        referee["email"] = self._email(prints, referee_mailbox(similarity))
        context = self._context(prints)
        self._keep_attributes(prints, referee["email"], context)
        rest = {k: v for k, v in body.items() if k not in ("fingerprint", "email_similarity")}
        return {**rest, "referee": referee, "context": context}

    def _keep_attributes(self, prints: Fingerprint, email: str, context: dict[str, Any]) -> None:
        """Stand-ins say nothing about a device or a mailbox: what intake read from the
        originals (kept on the stored fingerprint) passes into the replay as it was; a
        document stored before intake read anything replays as reading nothing, as live."""
        stand_ins = (email, context.get("ip"), context.get("device_id"), context.get("user_agent"))
        self._hasher.know_attributes(stand_ins, prints.attributes or IntakeAttributes())

    def event(self, body: dict[str, Any]) -> dict[str, Any]:
        card = body.get("payment_fingerprint")
        if card:
            self._hasher.know(PiiKind.PAYMENT, str(card), str(card))
        return body

    def _email(self, prints: Fingerprint, mailbox: str) -> str:
        if not prints.email:
            return f"{mailbox}@unknown.{_KEPT}"
        suffix = _THROWAWAY if prints.disposable_email else _KEPT
        domain = f"h{prints.email}.h{prints.email_domain or 'none'}.{suffix}"
        stand_in = f"{mailbox}@{domain}"
        self._hasher.know(PiiKind.EMAIL_CANONICAL, canonical_email(stand_in), prints.email)
        if prints.email_domain:
            self._hasher.know(PiiKind.EMAIL_DOMAIN, email_domain(stand_in), prints.email_domain)
        return stand_in

    def _context(self, prints: Fingerprint) -> dict[str, Any]:
        context: dict[str, Any] = {"country": prints.country}
        if prints.ip:
            context["ip"] = self._ip(prints)
        if prints.device:
            context["device_id"] = f"h{prints.device}"
            self._hasher.know(PiiKind.DEVICE, context["device_id"], prints.device)
        if prints.user_agent:
            automated = " headless" if prints.automation_user_agent else ""
            context["user_agent"] = f"h{prints.user_agent}{automated}"
            self._hasher.know(PiiKind.USER_AGENT, context["user_agent"], prints.user_agent)
        return {k: v for k, v in context.items() if v is not None}

    def _ip(self, prints: Fingerprint) -> str:
        assert prints.ip is not None
        if not prints.ip_prefix:
            stand_in = f"h{prints.ip}"  # not an address: no network, as live
        else:
            # 32 hex digits are 128 bits: an IPv6 address whose /48 stands for the network.
            stand_in = str(_ipv6(prints.ip))
            network = ip_prefix(stand_in)
            assert network is not None
            self._hasher.know(PiiKind.IP_PREFIX, network, prints.ip_prefix)
        self._hasher.know(PiiKind.IP, stand_in, prints.ip)
        return stand_in


def _ipv6(digest: str) -> Any:
    import ipaddress

    return ipaddress.IPv6Address(int(digest[:32].ljust(32, "0"), 16))


def referee_mailbox(similarity: float) -> str:
    """A mailbox name whose similarity to `ADVOCATE_MAILBOX` is `similarity` (to the four
    decimals the feature keeps): m of its letters and enough digits."""
    if similarity <= 0:
        return "0"
    size = len(ADVOCATE_MAILBOX)
    advocate = f"{ADVOCATE_MAILBOX}@a.invalid"
    for total in range(size + 1, size + _SIMILARITY_SEARCH):
        letters = min(round(similarity * total / 2), size, total - size)
        if letters <= 0:
            continue
        mailbox = "z" * letters + "0" * (total - size - letters)
        if email_local_similarity(f"{mailbox}@a.invalid", advocate) == similarity:
            return mailbox
    return "z" * size
