"""`notify:` where the notifier sends messages, and which."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from arrsync.settings.base import Section

NotifyState = Literal[
    "queued", "started", "retrying", "succeeded", "failed", "skipped", "availability"
]


def _split_words(value: Any) -> Any:
    """Environment values: a JSON list, or words separated by spaces or newlines."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [word for word in re.split(r"\s+", text) if word]
    return value


class NotifySettings(Section):
    urls: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Apprise URLs, e.g. tgram://TOKEN/CHAT_ID. From the environment: "
        "separated by spaces, or a JSON list.",
    )
    config_file: Path | None = Field(
        None, description="An Apprise configuration file (YAML or TEXT) used besides urls."
    )
    states: Annotated[list[NotifyState], NoDecode] = Field(
        default_factory=lambda: list[NotifyState](["succeeded", "failed"]),
        description="Job states that send a notification.",
    )
    success_tag: str | None = Field(
        None, description="Apprise tag for success messages (only URLs with this tag get them)."
    )
    failure_tag: str | None = Field(
        None, description="Apprise tag for failure and alert messages."
    )
    group_window: float = Field(
        5, ge=0, description="Seconds to gather the jobs of one release into one message."
    )
    title_template: str | None = Field(
        None, description="Title template ({icon} {title} {mapping} …); default built in."
    )
    body_template: str | None = Field(
        None, description="Body template ({size} {duration} {speed} {error} …); default built in."
    )
    delivery_attempts: int = Field(3, ge=1, le=10, description="Tries per notification.")

    _split_urls = field_validator("urls", "states", mode="before")(_split_words)
