"""Settings from the environment (secrets never come from anywhere else)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, Field

from analyst.runner import Limits


class AnalystSettings(BaseModel):
    database_url: str
    row_limit: int = Field(100, ge=1, le=10_000)
    statement_timeout_seconds: float = Field(10.0, gt=0, le=600)
    max_result_bytes: int = Field(1_000_000, ge=1_000)
    pii_policy_file: Path | None = None
    pii_hash_key: str | None = Field(None, repr=False)

    @classmethod
    def from_env(cls) -> AnalystSettings:
        env = os.environ
        values = {
            "database_url": env.get("ANALYST_DATABASE_URL") or _demo_database_url(),
            "row_limit": env.get("ANALYST_ROW_LIMIT"),
            "statement_timeout_seconds": env.get("ANALYST_STATEMENT_TIMEOUT"),
            "max_result_bytes": env.get("ANALYST_MAX_RESULT_BYTES"),
            "pii_policy_file": env.get("ANALYST_PII_POLICY"),
            "pii_hash_key": env.get("ANALYST_PII_HASH_KEY"),
        }
        return cls(**{k: v for k, v in values.items() if v})

    @property
    def limits(self) -> Limits:
        return Limits(self.row_limit, self.statement_timeout_seconds, self.max_result_bytes)


def _demo_database_url() -> str:
    """Outside the image there is no baked database: make the demo one once, in a temporary folder."""
    from analyst.demo_data import create_demo_database

    path = Path(tempfile.gettempdir()) / "mcpkit-analyst" / "demo.db"
    if not path.exists():
        # Built aside and renamed into place, so a concurrent start never opens a half-written file.
        partial = create_demo_database(path.with_suffix(f".{os.getpid()}.partial"))
        os.replace(partial, path)
    return f"sqlite:///{path}"
