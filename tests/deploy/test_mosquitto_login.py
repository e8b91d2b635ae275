"""Who may log in to the broker: every user in the password file, nobody else (anonymous,
wrong or unknown credentials), the compose healthcheck's login, and passwd.example letting
nobody in."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest

from tests.deploy.acl_broker import SYNC_REQUEST, USERS, start_broker
from tests.deploy.acl_clients import (
    NOT_AUTHORIZED,
    SUCCESS,
    Run,
    Session,
    code,
    mosquitto_cli,
    mosquitto_pub,
    mosquitto_sub_one,
)
from tools.localbroker import CONFIG_DIR, LocalBroker

PASSWD_EXAMPLE = CONFIG_DIR / "passwd.example"


@pytest.mark.parametrize("user", USERS)
def test_every_user_logs_in(session: Callable[..., Session], user: str) -> None:
    assert code(session(user, USERS[user]).connect()) == SUCCESS


def test_anonymous_client_is_refused(
    acl_broker: LocalBroker, session: Callable[..., Session]
) -> None:
    anonymous = session(None)
    assert code(anonymous.connect()) == NOT_AUTHORIZED
    assert anonymous.closed.is_set()  # the broker hung up

    # mosquitto_sub: its exit status is the CONNACK code (v5) or return code (3.1.1).
    v5 = mosquitto_sub_one(acl_broker.port, None, None, "-t", "arrsync/#")
    assert v5.returncode == 0x87, v5
    assert "Connection error: Not authorized" in v5.stderr
    v311 = mosquitto_sub_one(acl_broker.port, None, None, "-V", "311", "-t", "arrsync/#")
    assert v311.returncode == 5, v311
    assert "Connection Refused: not authorised" in v311.stderr


@pytest.mark.parametrize(
    ("user", "password"),
    [
        ("bridge", "wrong"),
        ("bridge", ""),
        ("bridge", USERS["syncer"]),  # another user's password
        ("viewer", USERS["viewer"].upper()),
        ("admin", "admin"),  # no such user
    ],
)
def test_wrong_credentials_are_refused(
    session: Callable[..., Session], user: str, password: str
) -> None:
    refused = session(user, password)
    # Mosquitto 2.0.11 answers 0x87 here too, not 0x86 Bad user name or password.
    assert code(refused.connect()) == NOT_AUTHORIZED
    assert refused.closed.is_set()


def test_wrong_password_is_refused_to_mosquitto_pub(acl_broker: LocalBroker) -> None:
    refused = mosquitto_pub(acl_broker.port, "trigger", "not-the-password", SYNC_REQUEST, "{}")
    assert refused.returncode == 0x87, refused
    assert "Connection error: Not authorized" in refused.stderr


def test_compose_healthcheck_command(acl_broker: LocalBroker) -> None:
    """docker-compose.yml's healthcheck: the viewer subscribes to arrsync/# with -E."""

    def healthcheck(password: str) -> Run:
        return mosquitto_cli(
            "mosquitto_sub",
            acl_broker.port,
            "viewer",
            password,
            "-V",
            "311",
            "-t",
            "arrsync/#",
            "-E",
        )

    healthy = healthcheck(USERS["viewer"])
    assert (healthy.returncode, healthy.stderr) == (0, ""), healthy
    assert healthcheck("stale-password").returncode != 0


def test_passwd_example_is_comments_only_and_lets_nobody_in(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Used by mistake as the password file, the example starts a broker nobody can use."""
    lines = [line for line in PASSWD_EXAMPLE.read_text().splitlines() if line.strip()]
    assert lines
    assert all(line.startswith("#") for line in lines)

    folder = tmp_path_factory.mktemp("mosquitto-example")
    broker = start_broker(folder, lambda path: shutil.copyfile(PASSWD_EXAMPLE, path))
    try:
        for user, password in USERS.items():
            refused = Session(broker.port, user, password)
            try:
                assert code(refused.connect()) == NOT_AUTHORIZED, user
            finally:
                refused.close()
    finally:
        broker.stop()
