"""Fixtures of the deployment tests, for every module here: the broker with the project's
ACL and its clients (`acl_broker.py`), a clean environment and a broker folder
(`deployfiles.py`)."""

from tests.deploy.acl_broker import acl_broker, login, marker, session, watch
from tests.deploy.deployfiles import broker_folder, clean_env

__all__ = ["acl_broker", "broker_folder", "clean_env", "login", "marker", "session", "watch"]
