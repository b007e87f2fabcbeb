"""The base of every config section: unknown keys are refused, values are frozen once read."""

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
