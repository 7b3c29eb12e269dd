"""TCP servers on 127.0.0.1 that misbehave the way real ones do, for the real drivers to
talk to: one that accepts and never answers, one that sends MySQL's greeting and then
stalls, one that refuses a PostgreSQL login. Each runs in a thread for one test.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def tcp_server(handle: Callable[[socket.socket], None]) -> Iterator[int]:
    """Serve every connection with `handle` (in its own thread); yield the port. On exit,
    the listening socket and every connection are closed."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    connections: list[socket.socket] = []

    def serve(conn: socket.socket) -> None:
        try:
            handle(conn)
            stop.wait()  # hold the connection open, unanswered, until the test ends
        except OSError:
            pass

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connections.append(conn)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()
        for conn in connections:
            conn.close()


def silent(conn: socket.socket) -> None:
    """Accept, and never send a byte."""


def mysql_greeting_then_stall(conn: socket.socket) -> None:
    """Send a MySQL protocol 10 greeting, read the client's login, never answer it."""
    scramble = b"abcdefghijklmnopqrst"
    payload = (b"\x0a" + b"5.7.99-stall\x00" + struct.pack("<I", 7) + scramble[:8] + b"\x00"
               + struct.pack("<H", 0xA20F)  # long password, protocol 4.1, secure connection
               + b"\x21" + struct.pack("<H", 2)  # utf8, autocommit
               + struct.pack("<H", 0x000A)  # plugin auth, multi results
               + bytes([21]) + b"\x00" * 10 + scramble[8:] + b"\x00"
               + b"mysql_native_password\x00")
    conn.sendall(struct.pack("<I", len(payload))[:3] + b"\x00" + payload)
    conn.recv(65536)  # the login; left unanswered


def postgres_refusing_login(user: str) -> Callable[[socket.socket], None]:
    """Answer a PostgreSQL start-up like a server whose password check failed (28P01)."""

    def handle(conn: socket.socket) -> None:
        while True:
            length = struct.unpack("!I", _read(conn, 4))[0]
            body = _read(conn, length - 4)
            code = struct.unpack("!I", body[:4])[0]
            if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest: not offered
                conn.sendall(b"N")
                continue
            break
        fields = (b"SFATAL\x00VFATAL\x00C28P01\x00"
                  + f'Mpassword authentication failed for user "{user}"'.encode() + b"\x00\x00")
        conn.sendall(b"E" + struct.pack("!I", len(fields) + 4) + fields)
        conn.close()

    return handle


def _read(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data
