"""Where a customer appears: the records erasure visits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class CustomerRecord:
    """One record of the customer: as an advocate (the advocate's id) or as a referee (the
    referral's id)."""

    role: Literal["advocate", "referee"]
    subject_id: str
