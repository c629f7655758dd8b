"""Function configuration from the environment, read once on first use."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field


class Settings(BaseModel):
    table_name: str = Field(min_length=1)
    scoring_queue_url: str | None = None
    pii_key_parameter: str = Field(min_length=1)
    share_base_url: str = "https://refer.example.com/r/"
    model_dir: str = "models"


@lru_cache(maxsize=1)
def settings() -> Settings:
    env = os.environ
    return Settings(
        table_name=env.get("TABLE_NAME", ""),
        scoring_queue_url=env.get("SCORING_QUEUE_URL"),
        pii_key_parameter=env.get("PII_KEY_PARAMETER", ""),
        share_base_url=env.get("SHARE_BASE_URL", "https://refer.example.com/r/"),
        model_dir=env.get("MODEL_DIR", "models"),
    )
