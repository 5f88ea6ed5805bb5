"""Base classes for every request and response schema."""

from pydantic import BaseModel, ConfigDict, Field


class InputSchema(BaseModel):
    """Request bodies: unknown fields are refused and strings stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OutputSchema(BaseModel):
    """Response bodies, read from model attributes: only declared fields ever leave."""

    model_config = ConfigDict(from_attributes=True)


class PageParams(BaseModel):
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=1_000_000)
