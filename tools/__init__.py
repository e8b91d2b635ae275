"""Development tooling: the `make run` launcher and a private Mosquitto for it and the tests."""
