"""Response shapes: validated on the way out and published in the OpenAPI document."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Candidate(BaseModel):
    label: str
    confidence: float


class Prediction(BaseModel):
    """The seed's answer: `label` and `confidence` keep their meaning; the rest is extra."""

    model_config = ConfigDict(extra="allow")

    label: str = Field(description="top-1 class")
    confidence: float = Field(description="its probability, 0..1")
    top_k: list[Candidate] = Field(default_factory=list)
    model_version: str | None = None


class Diagnosis(BaseModel):
    """A full result; `stored` says whether it is also the record kept for an S3 object."""

    model_config = ConfigDict(extra="allow")

    status: str = Field(description="ok, or rejected with an error (stored records only)")
    label: str | None = None
    confidence: float | None = None
    top_k: list[Candidate] = Field(default_factory=list)
    model_version: str
    image: str | None = Field(default=None, description="s3://bucket/key of a stored record")
    error: str | None = None
    rejection: str | None = Field(default=None, description="final (not an image) or conditional (archived, over a "
                                  "limit): a conditional rejection is diagnosed again by every origin")
    diagnosed_at: str | None = None
    latency_ms: float | None = None
    stored: bool = False


class Error(BaseModel):
    statusCode: int
    message: str
