"""Tiny RESP2 client for the benchmark probes (Python 3 standard library only).

Enough for: single commands, pipelined bulk loading in bounded batches, INFO parsing.
"""

import socket
import time


class RespError(Exception):
    """An error reply (-ERR ...) from the server."""


class UnknownCommand(RespError):
    """The server answered "unknown command" (e.g. Redis 7.0 asked for HSETEX)."""


def is_unknown_command(msg):
    m = str(msg).lower()
    return "unknown command" in m or "unknown subcommand" in m


def _enc_arg(a):
    if isinstance(a, bytes):
        return a
    if isinstance(a, str):
        return a.encode()
    return str(a).encode()


def encode(*args):
    """Encode one command as a RESP array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        b = _enc_arg(a)
        parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(parts)


class Client:
    def __init__(self, port, host="127.0.0.1", timeout=30.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb", buffering=1 << 16)

    def close(self):
        try:
            self.rfile.close()
        finally:
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- replies ---------------------------------------------------------
    def read_reply(self):
        """Return the parsed reply; an error reply is returned as a RespError instance."""
        line = self.rfile.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed by server")
        t, body = line[:1], line[1:-2]
        if t == b"+":
            return body.decode(errors="replace")
        if t == b"-":
            msg = body.decode(errors="replace")
            return UnknownCommand(msg) if is_unknown_command(msg) else RespError(msg)
        if t == b":":
            return int(body)
        if t == b"$":
            n = int(body)
            if n < 0:
                return None
            data = self.rfile.read(n + 2)
            if len(data) != n + 2:
                raise ConnectionError("connection closed by server")
            return data[:-2]
        if t == b"*":
            n = int(body)
            if n < 0:
                return None
            return [self.read_reply() for _ in range(n)]
        # A few RESP3 scalars, in case a server answers with them anyway.
        if t in (b",",):
            return float(body)
        if t == b"_":
            return None
        if t == b"#":
            return body == b"t"
        raise ConnectionError("unexpected RESP type byte %r" % t)

    def call(self, *args):
        """Send one command, return its reply; raise RespError/UnknownCommand on error replies."""
        self.sock.sendall(encode(*args))
        r = self.read_reply()
        if isinstance(r, RespError):
            raise r
        return r

    def try_call(self, *args):
        """Like call() but return the RespError instead of raising it."""
        self.sock.sendall(encode(*args))
        return self.read_reply()

    def pipeline(self, commands, batch=1000):
        """Send pre-encoded commands (iterable of bytes) in pipelined batches of `batch`.

        Batches keep both socket buffers bounded (write a batch, read its replies).
        Returns the number of replies. Raises the first error reply seen (after draining
        the batch so the connection stays usable).
        """
        n = 0
        buf = []
        first_err = None
        for c in commands:
            buf.append(c)
            if len(buf) >= batch:
                first_err = first_err or self._flush(buf)
                n += len(buf)
                buf = []
                if first_err is not None:
                    raise first_err
        if buf:
            first_err = first_err or self._flush(buf)
            n += len(buf)
        if first_err is not None:
            raise first_err
        return n

    def _flush(self, buf):
        self.sock.sendall(b"".join(buf))
        err = None
        for _ in range(len(buf)):
            r = self.read_reply()
            if err is None and isinstance(r, RespError):
                err = r
        return err

    # -- helpers ---------------------------------------------------------
    def info(self, section=None):
        """INFO [section] parsed into a dict of strings ({} if the server has no INFO)."""
        args = ("INFO", section) if section else ("INFO",)
        r = self.try_call(*args)
        if isinstance(r, RespError) or r is None:
            return {}
        out = {}
        for line in r.decode(errors="replace").splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                out[k.strip()] = v.strip()
        return out


def wait_ready(port, timeout=10.0, proc=None):
    """Poll PING until the server answers PONG (bounded by `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("server exited with code %s during startup" % proc.returncode)
        try:
            with Client(port, timeout=2.0) as c:
                if c.call("PING") == "PONG":
                    return
        except (OSError, ConnectionError, RespError) as e:
            last = e
        time.sleep(0.05)
    raise RuntimeError("server on port %d not ready after %.0fs (%s)" % (port, timeout, last))
