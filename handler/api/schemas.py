"""Response shapes: validated on the way out and published in the OpenAPI document."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

RECOGNIZED = ("false when the model does not know what the photo shows (no leaf, unlike its training photos, "
              "not sure): `label` is then its closest guess, not a diagnosis to show")
REASON = 'why not recognised, in a few words ("no leaf in the photo"); only when recognized is false'
DISPLAY_LABEL = 'the label as people read it ("Apple — Cedar apple rust"), from the model\'s display names'


class Candidate(BaseModel):
    label: str
    confidence: float


class Prediction(BaseModel):
    """The seed's answer: `label` and `confidence` keep their meaning; the rest is extra."""

    model_config = ConfigDict(extra="allow")

    label: str = Field(description="top-1 class (the stable machine label)")
    confidence: float = Field(description="its probability, 0..1")
    recognized: bool = Field(default=True, description=RECOGNIZED)
    reason: str | None = Field(default=None, description=REASON)
    display_label: str | None = Field(default=None, description=DISPLAY_LABEL)
    top_k: list[Candidate] = Field(default_factory=list)
    model_version: str | None = None


class Diagnosis(BaseModel):
    """A full result; `stored` says whether it is also the record kept for an S3 object."""

    model_config = ConfigDict(extra="allow")

    status: str = Field(description="ok, or rejected with an error (stored records only)")
    label: str | None = None
    confidence: float | None = None
    recognized: bool | None = Field(default=None, description=RECOGNIZED + " (every ok result; absent on records "
                                    "stored before the verdict existed)")
    reason: str | None = Field(default=None, description=REASON)
    display_label: str | None = Field(default=None, description=DISPLAY_LABEL)
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
