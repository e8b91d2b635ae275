"""How the MQTT client reaches the broker: TCP options, TLS, and why it cannot.

`mqtt.tls` changes nothing but the transport: the CA that signed the broker's certificate,
the client's own certificate and key where the broker asks for one, and `insecure`, which
skips only the host-name check (never the CA). When the broker cannot be reached, `why_not`
finds out why in one line by trying the connection itself: refused, a certificate signed by
another CA, a certificate for another host name, a plain client on a TLS port or a TLS
client on a plain one.
"""

from __future__ import annotations

import logging
import socket
import ssl

import paho.mqtt.client as paho
from paho.mqtt import __version__ as PAHO_VERSION

from arrsync.settings import MqttSettings

log = logging.getLogger("arrsync.mqtt")

PROBE_TIMEOUT_S = 5.0
TLS_HELLO_S = 2.0  # a broker that speaks TLS answers a TLS hello at once


class _ClosedOnFailure(ssl.SSLSocket):
    """paho leaves a socket whose TLS handshake failed open (and the garbage collector warns
    about it later): this one closes itself when its handshake fails."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


class TlsUnusable(ValueError):
    """mqtt.tls names files that cannot be used; the message says which and why."""


def tls_context(settings: MqttSettings) -> ssl.SSLContext | None:
    """The TLS context `mqtt.tls` asks for, or None without TLS. TlsUnusable for a file
    that is missing or not what it should be."""
    tls = settings.tls
    if tls is None:
        return None
    for name in ("ca_file", "cert_file", "key_file"):
        path = getattr(tls, name)
        if path is not None and not path.is_file():
            raise TlsUnusable(f"mqtt.tls.{name}: {path} does not exist")
    try:
        context = ssl.create_default_context(
            cafile=str(tls.ca_file) if tls.ca_file else None)
        if tls.cert_file:
            context.load_cert_chain(str(tls.cert_file),
                                    str(tls.key_file) if tls.key_file else None)
    except (ssl.SSLError, OSError) as exc:
        raise TlsUnusable(f"mqtt.tls: cannot use the CA file or the client certificate and "
                          f"key ({exc.strerror or exc})") from None
    if tls.insecure:
        context.check_hostname = False  # the CA is still checked
    context.sslsocket_class = _ClosedOnFailure
    return context


def apply_tls(client: paho.Client, settings: MqttSettings) -> None:
    context = tls_context(settings)
    if context is None:
        return
    client.tls_set_context(context)
    if settings.tls and settings.tls.insecure:
        client.tls_insecure_set(True)


def why_not(settings: MqttSettings) -> str:
    """Why a connection to the broker fails, in one line, from a connection of our own."""
    where = f"{settings.host}:{settings.port}"
    try:
        raw = socket.create_connection((settings.host, settings.port), PROBE_TIMEOUT_S)
    except OSError:
        return f"cannot reach the broker at {where}"
    with raw:
        context = tls_context(settings)
        if context is None:
            return _plain_problem(raw, where)
        try:
            with context.wrap_socket(raw, server_hostname=settings.host):
                return f"the broker at {where} closed the TLS connection"
        except ssl.SSLCertVerificationError as exc:
            if exc.verify_code == 62 or "mismatch" in (exc.verify_message or ""):
                return (f"the broker's certificate at {where} is not for the host name "
                        f"{settings.host!r} ({exc.verify_message}): use the name it was made "
                        "for as mqtt.host, or mqtt.tls.insecure: true")
            return (f"the broker's certificate at {where} is not signed by mqtt.tls.ca_file "
                    f"({exc.verify_message})")
        except (ssl.SSLError, ConnectionResetError) as exc:
            reason = getattr(exc, "reason", None) or exc.strerror
            return (f"the broker at {where} does not speak TLS on this port ({reason}): use "
                    "its TLS port (8883 by convention), or no mqtt.tls")
        except OSError as exc:
            return f"the TLS connection to the broker at {where} failed ({exc})"


def _plain_problem(raw: socket.socket, where: str) -> str:
    """A plain client: is the port a TLS one? (A TLS listener answers a TLS hello.)"""
    probe = ssl.create_default_context()
    probe.check_hostname, probe.verify_mode = False, ssl.CERT_NONE
    raw.settimeout(TLS_HELLO_S)
    try:
        with probe.wrap_socket(raw):
            return (f"the broker at {where} expects TLS on this port: set mqtt.tls (its "
                    "ca_file), or use its plain port")
    except (ssl.SSLError, OSError):  # not TLS either (or no answer at all)
        return f"cannot reach the broker at {where}"


def close_wakeup_sockets(client: paho.Client) -> None:
    """Close the socket pair loop_start() opened to wake paho's network thread, now: left to
    the garbage collector, a socket can be finalised before the client that would close it,
    and its ResourceWarning fails whichever test runs then. paho 2.1/2.2 have no public call
    for it (loop_stop() leaves the pair open: eclipse-paho/paho.mqtt.python#627; reinitialise()
    also wipes the client's settings, and raises on 2.1: #824), so this is the one place that
    calls the private `Client._reset_sockets()`, on the paho major version it was checked on."""
    if PAHO_VERSION.split(".")[0] == "2" and hasattr(client, "_reset_sockets"):
        client._reset_sockets()
    else:  # another paho: its own finaliser closes the pair
        log.debug("paho-mqtt %s: leaving its wake-up sockets to paho", PAHO_VERSION)


def no_delay(client: paho.Client) -> None:
    """Send small packets at once: with Nagle's algorithm a QoS 1 message can wait ~40 ms
    for the broker's delayed ACK of the one before it."""
    sock = client.socket()
    try:
        if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError) as exc:
        log.debug("could not set TCP_NODELAY: %s", exc)
