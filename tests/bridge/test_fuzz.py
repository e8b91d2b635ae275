"""Random JSON never crashes the bridge: every answer is a 2xx or a 4xx."""

from __future__ import annotations

import json
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrsync.settings import Settings
from tests.helpers import http
from tests.processes import RunningBridge
from tools.localbroker import LocalBroker

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
arr_keys = st.sampled_from(["eventType", "movie", "movieFile", "series", "episodeFile",
                            "episodeFiles", "episodes", "trackFiles", "bookFiles", "path",
                            "deletedFiles", "isUpgrade", "instanceName", "title", "year"])
arr_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(arr_keys, children, max_size=5),
    max_leaves=25,
)
bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(arr_keys, arr_like, max_size=6).map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"eventType": st.sampled_from(["Download", "Test", "Grab", "x"])},
                          optional={k: arr_like for k in ["movie", "movieFile", "series",
                                                          "episodeFile", "episodeFiles",
                                                          "episodes", "deletedFiles"]}
                          ).map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=64),
)


def test_random_bodies_never_cause_a_server_error(
    broker: LocalBroker, make_settings: Callable[..., Settings],
    start_bridge: Callable[[Settings], RunningBridge],
) -> None:
    bridge = start_bridge(make_settings(broker))

    @settings(max_examples=300, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(body=bodies, app=st.sampled_from(["radarr", "sonarr", "lidarr", "readarr"]))
    def check(body: bytes, app: str) -> None:
        answer = http("POST", f"{bridge.url}/webhook/{app}", body)
        assert 200 <= answer.status < 300 or 400 <= answer.status < 500, answer.body
        assert json.loads(answer.body)

    check()
