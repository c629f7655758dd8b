"""The personal-data HMAC key from SSM Parameter Store (a SecureString)."""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters


def hmac_key_from_ssm(parameter_name: str) -> bytes:
    value = parameters.get_parameter(parameter_name, decrypt=True, max_age=3600)
    if not isinstance(value, str) or len(value) < 32:
        raise RuntimeError(f"SSM parameter {parameter_name} does not hold an HMAC key")
    return value.encode()
