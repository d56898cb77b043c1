"""Settings from the environment (secrets never come from anywhere else)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, Field


class AnalystSettings(BaseModel):
    database_url: str
    row_limit: int = Field(100, ge=1, le=10_000)

    @classmethod
    def from_env(cls) -> AnalystSettings:
        url = os.environ.get("ANALYST_DATABASE_URL") or _demo_database_url()
        limit = os.environ.get("ANALYST_ROW_LIMIT") or 100
        return cls(database_url=url, row_limit=limit)


def _demo_database_url() -> str:
    """Outside the image there is no baked database: make the demo one once, in a temporary folder."""
    from analyst.demo_data import create_demo_database

    path = Path(tempfile.gettempdir()) / "mcpkit-analyst" / "demo.db"
    if not path.exists():
        # Built aside and renamed into place, so a concurrent start never opens a half-written file.
        partial = create_demo_database(path.with_suffix(f".{os.getpid()}.partial"))
        os.replace(partial, path)
    return f"sqlite:///{path}"
