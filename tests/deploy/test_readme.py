"""The README's configuration reference is checked against the pydantic models."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from arrsync.settings import Mapping, Settings, SyncerSettings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _default(field) -> str:
    if field.default is not PydanticUndefined:
        value = field.default
    elif field.default_factory is not None:
        value = field.default_factory()
    else:
        return "(required)"
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list | dict):
        return f"`{json.dumps(value)}`"
    return f"`{value}`"


def reference_rows(model: type[BaseModel] = Settings, prefix: str = "") -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows += reference_rows(annotation, f"{prefix}{name}.")
        elif model is SyncerSettings and name == "mappings":
            rows += reference_rows(Mapping, f"{prefix}{name}[].")
        else:
            rows.append(f"| `{prefix}{name}` | {_default(field)} | {field.description} |")
    return rows


def test_every_setting_is_documented_with_its_default_and_description() -> None:
    rows = reference_rows()
    assert len(rows) > 40
    missing = [row for row in rows if row not in README]
    assert not missing, "README configuration reference is out of date:\n" + "\n".join(missing)


def test_every_status_topic_state_is_documented() -> None:
    from arrsync.wire import JobState, JobStatus

    for state in JobState:
        assert f"`{state.value}`" in README
    for field in JobStatus.model_fields:
        assert f"`{field}`" in README, field
