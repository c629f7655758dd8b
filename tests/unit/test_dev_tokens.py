"""Dev tokens: minted and checked with the checkout's own secret."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from shared import cli
from shared.local import commands
from shared.local.dev_tokens import (
    AUDIENCE,
    ISSUER,
    InvalidTokenError,
    mint_token,
    secret_path,
    signing_secret,
    verify_token,
)


def test_minted_token_verifies_to_its_claims(tmp_path: Path) -> None:
    token = mint_token(["client", "finance"], "user-7", root=tmp_path)

    claims = verify_token(token, root=tmp_path)

    assert claims["sub"] == "user-7"
    assert claims["roles"] == ["client", "finance"]
    assert claims["iss"] == ISSUER
    assert claims["aud"] == AUDIENCE
    assert claims["exp"] - claims["iat"] == 24 * 3600


def test_expired_token_is_refused_as_expired(tmp_path: Path) -> None:
    token = mint_token(
        ["client"], "u", root=tmp_path, issued_at=datetime.now(UTC) - timedelta(hours=25)
    )

    with pytest.raises(InvalidTokenError, match="expired"):
        verify_token(token, root=tmp_path)


def test_token_signed_by_another_checkout_is_refused(tmp_path: Path) -> None:
    token = mint_token(["client"], "u", root=tmp_path / "other")

    with pytest.raises(InvalidTokenError, match="not signed with this checkout's secret"):
        verify_token(token, root=tmp_path / "mine")


@pytest.mark.parametrize(
    ("claim", "value", "message"),
    [("aud", "someone-else", "audience"), ("iss", "https://elsewhere/", "issuer")],
)
def test_token_for_another_audience_or_issuer_is_refused(
    tmp_path: Path, claim: str, value: str, message: str
) -> None:
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "sub": "u",
        "roles": ["client"],
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 60,
    }
    token = jwt.encode({**claims, claim: value}, signing_secret(tmp_path), algorithm="HS256")

    with pytest.raises(InvalidTokenError, match=message):
        verify_token(token, root=tmp_path)


def test_token_without_roles_cannot_be_minted(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="role"):
        mint_token([], "u", root=tmp_path)


def test_secret_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = signing_secret(tmp_path)

    assert signing_secret(tmp_path) == first
    assert len(first) == 32
    assert stat.S_IMODE(secret_path(tmp_path).stat().st_mode) == 0o600


def test_token_command_prints_a_token_valid_for_at_least_12_hours_on_its_last_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(commands, "repo_root", lambda: tmp_path)

    exit_code = cli.main(["token", "--role", "finance", "--role", "admin", "--sub", "fin-1"])

    assert exit_code == 0
    claims = verify_token(capsys.readouterr().out.splitlines()[-1], root=tmp_path)
    assert claims["roles"] == ["finance", "admin"]
    assert claims["sub"] == "fin-1"
    assert claims["exp"] - datetime.now(UTC).timestamp() >= 12 * 3600


def test_a_token_limited_to_programs_carries_them_in_the_programs_claim(tmp_path: Path) -> None:
    token = mint_token(["client"], "shop-1", root=tmp_path, programs=["prg_a", "prg_b"])

    claims = verify_token(token, root=tmp_path)

    assert claims["programs"] == ["prg_a", "prg_b"]


def test_a_token_without_programs_has_no_programs_claim(tmp_path: Path) -> None:
    claims = verify_token(mint_token(["client"], "backend", root=tmp_path), root=tmp_path)

    assert "programs" not in claims


def test_token_command_takes_a_repeatable_program_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(commands, "repo_root", lambda: tmp_path)
    argv = ["token", "--role", "client", "--sub", "shop-1", "--program", "prg_a"]

    exit_code = cli.main([*argv, "--program", "prg_b"])

    assert exit_code == 0
    claims = verify_token(capsys.readouterr().out.splitlines()[-1], root=tmp_path)
    assert claims["programs"] == ["prg_a", "prg_b"]
