"""The documentation is checked against the code: the configuration reference against the
pydantic models, the topics page against the wire models, the README against its promises."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from arrsync.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()
TOPICS = (ROOT / "docs" / "topics.md").read_text()


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


def _listed_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a field that is a list of models (syncer.mappings, arrs), else None."""
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item
    return None


def reference_rows(model: type[BaseModel] = Settings, prefix: str = "") -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows += reference_rows(annotation, f"{prefix}{name}.")
        elif (item := _listed_model(annotation)) is not None:
            rows += reference_rows(item, f"{prefix}{name}[].")
        else:
            rows.append(f"| `{prefix}{name}` | {_default(field)} | {field.description} |")
    return rows


def test_every_setting_is_documented_with_its_default_and_description() -> None:
    rows = reference_rows()
    assert len(rows) > 40
    missing = [row for row in rows if row not in CONFIGURATION]
    assert not missing, "docs/configuration.md is out of date:\n" + "\n".join(missing)


def test_every_status_topic_state_is_documented() -> None:
    from arrsync.wire.job import JobState, JobStatus

    for state in JobState:
        assert f"`{state.value}`" in TOPICS
    for field in JobStatus.model_fields:
        assert f"`{field}`" in TOPICS, field


def test_every_envelope_field_is_documented() -> None:
    from arrsync.wire.event import EventEnvelope

    for field in EventEnvelope.model_fields:
        assert f"`{field}`" in TOPICS, field


def test_every_audit_summary_field_is_documented() -> None:
    from arrsync.wire.audit import AuditSummary

    for field in AuditSummary.model_fields:
        assert f"`{field}`" in TOPICS, field
    assert "`arrsync/audit/<arr>`" in TOPICS


def test_the_readme_is_a_first_read_that_links_every_docs_page() -> None:
    assert len(README.splitlines()) <= 250
    assert "make run" in README and "make test" in README
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"(docs/{page.name})" in README, f"README does not link docs/{page.name}"


def test_the_readme_mapping_table_is_the_example_config() -> None:
    from arrsync.config import load_settings

    example = load_settings(ROOT / "arrsync.example.yml").syncer.mappings
    assert len(example) == 4
    for m in example:
        row = f"| {m.name} | `{m.arr_path}` | `{m.source}` | `{m.dest}` |"
        assert row in README, f"README's mapping table lacks {row}"


def test_every_statistics_field_is_documented() -> None:
    from arrsync.wire.statistics import JobEntry, MappingTotals, SyncerStats, Tally

    section = TOPICS[TOPICS.index("## Syncer statistics"):]
    for model in (SyncerStats, JobEntry, Tally, MappingTotals):
        for field in model.model_fields:
            assert f"`{field}`" in section, f"{model.__name__}.{field}"


def test_the_node_red_flow_subscribes_to_the_status_and_asks_for_a_sync() -> None:
    from arrsync.wire.request import PathRequest, parse_request

    page = (ROOT / "docs" / "home-tools.md").read_text()
    section = page[page.index("## Node-RED"):]
    start = section.index("```json") + len("```json")
    flow = json.loads(section[start:section.index("```", start)])
    nodes = {node["id"]: node for node in flow}
    assert len(nodes) == len(flow)
    for node in flow:  # every wire and every broker reference points at a node of the flow
        assert all(target in nodes for outputs in node.get("wires", []) for target in outputs)
        if node["type"] in ("mqtt in", "mqtt out"):
            assert nodes[node["broker"]]["type"] == "mqtt-broker"
        assert node.get("z") in (None, *nodes)
    (status,) = [n for n in flow if n["type"] == "mqtt in"]
    assert status["topic"] == "arrsync/sync/+" and status["datatype"] == "json"
    (request,) = [n for n in flow if n["type"] == "mqtt out"]
    assert request["topic"] == "arrsync/sync/request" and request["retain"] == "false"
    (inject,) = [n for n in flow if n["type"] == "inject"]
    assert inject["wires"] == [[request["id"]]]
    assert parse_request(inject["payload"].encode()) == PathRequest(
        path="/movies/Dune (2021)", id="node-red-dune")
