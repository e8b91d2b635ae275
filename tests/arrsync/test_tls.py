"""MQTT over TLS (`mqtt.tls`), against a real Mosquitto with a TLS-only listener and a CA
made for the test with openssl: an import synced end to end, and the three mistakes said in
one line each: a certificate signed by another CA, one for another host name, and a plain
client on the TLS port."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from arrsync.mqtt import MqttConnection
from arrsync.settings import MqttSettings, Settings, TlsSettings
from syncer.service import SyncerService
from tests.helpers import http, wait_until
from tests.media import FIXTURES, MediaTree, syncer_settings
from tests.processes import RunningBridge
from tools.localbroker import LocalBroker


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_ca(folder: Path, name: str) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key", folder / f"{name}.crt"
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            f"/CN={name}", "-keyout", str(key), "-out", str(cert))
    return key, cert


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a broker certificate it signed for `localhost` only, and another CA."""
    folder = tmp_path_factory.mktemp("pki")
    ca_key, ca_cert = make_ca(folder, "arrsync-test-ca")
    make_ca(folder, "another-ca")
    (folder / "san.cnf").write_text("subjectAltName=DNS:localhost\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout",
            str(folder / "broker.key"), "-out", str(folder / "broker.csr"))
    openssl("x509", "-req", "-in", str(folder / "broker.csr"), "-CA", str(ca_cert), "-CAkey",
            str(ca_key), "-CAcreateserial", "-days", "2", "-extfile", str(folder / "san.cnf"),
            "-out", str(folder / "broker.crt"))
    (folder / "broker.key").chmod(0o644)  # mosquitto reads it as the user it runs as
    return folder


@pytest.fixture
def tls_broker(tmp_path: Path, pki: Path) -> Iterator[LocalBroker]:
    broker = LocalBroker(tmp_path / "tls-broker", extra=[
        f"certfile {pki / 'broker.crt'}", f"keyfile {pki / 'broker.key'}"])
    broker.start()
    yield broker
    broker.stop()


def problem(host: str, port: int, tls: TlsSettings | None) -> str | None:
    mqtt = MqttConnection(MqttSettings(host=host, port=port, tls=tls), "cli", announce=False)
    mqtt.start()
    try:
        return mqtt.connection_problem(10)
    finally:
        mqtt.stop()


def test_the_three_mistakes_are_said_in_one_line(tls_broker: LocalBroker, pki: Path) -> None:
    port, ours = tls_broker.port, pki / "arrsync-test-ca.crt"
    assert problem("localhost", port, TlsSettings(ca_file=ours)) is None
    wrong_ca = problem("localhost", port, TlsSettings(ca_file=pki / "another-ca.crt"))
    assert wrong_ca and "is not signed by mqtt.tls.ca_file" in wrong_ca
    wrong_name = problem("127.0.0.1", port, TlsSettings(ca_file=ours))
    assert wrong_name and "is not for the host name '127.0.0.1'" in wrong_name
    assert problem("127.0.0.1", port, TlsSettings(ca_file=ours, insecure=True)) is None
    plain = problem("localhost", port, None)
    assert plain and "expects TLS on this port: set mqtt.tls" in plain
    for said in (wrong_ca, wrong_name, plain):
        assert "\n" not in said and "Traceback" not in said


def test_a_tls_client_on_a_plain_port_is_told_so(broker: LocalBroker, pki: Path) -> None:
    said = problem("localhost", broker.port, TlsSettings(ca_file=pki / "arrsync-test-ca.crt"))
    assert said and "does not speak TLS on this port" in said


def test_an_import_is_synced_end_to_end_over_tls(
    tls_broker: LocalBroker, pki: Path, make_settings: Callable[..., Settings],
    media: MediaTree, base_topic: str, start_bridge: Callable[[Settings], RunningBridge],
    start_syncer: Callable[[Settings], SyncerService],
) -> None:
    settings = syncer_settings(make_settings, tls_broker, media, base_topic)
    tls = TlsSettings(ca_file=pki / "arrsync-test-ca.crt")
    settings = settings.model_copy(update={"mqtt": settings.mqtt.model_copy(
        update={"host": "localhost", "tls": tls})})
    start_syncer(settings)
    bridge = start_bridge(settings)
    wait_until(bridge.service.mqtt.connected.is_set, message="bridge connected over TLS")
    payload = (FIXTURES / "radarr" / "download.json").read_text()
    movie = json.loads(payload)["movieFile"]["path"]
    source = media.put(movie, size=4000)
    answer = http("POST", f"{bridge.url}/webhook/radarr", payload)
    assert answer.status == 200
    assert "expects TLS" in (problem("localhost", tls_broker.port, None) or "")  # TLS only
    wait_until(lambda: media.dest_of(movie).exists(), timeout=30, message="the copy over TLS")
    assert media.dest_of(movie).read_bytes() == source.read_bytes()


def test_a_missing_tls_file_stops_the_process_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "arrsync.yml"
    config.write_text("mqtt:\n  tls:\n    ca_file: ca.crt\n")
    done = subprocess.run([str(Path(sys.executable).parent / "arrsync-syncer"), "--config",
                           str(config), "check"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 1
    assert f"mqtt.tls.ca_file: {tmp_path / 'ca.crt'} does not exist" in done.stderr
    assert "Traceback" not in done.stderr
