#!/usr/bin/env python3
"""Slow pure-Python stand-in for Mayfly, ONLY to self-test bench.py's Mayfly-only paths
(HSETEX / HPEXPIRE / HTTL rows, TTL memory rows, hash-field expiry probe) while no Redis 8
and no Mayfly binary is at hand. Its numbers mean nothing.

    python3 bench/bench.py --mayfly bench/fake_mayfly.py --quick --fields 20000 \
        --requests 2000 --requests-pipelined 5000 --big-requests 2000

Accepts the redis-server style command line (--port N --bind ADDR, other flags ignored).
"""

import asyncio
import os
import sys
import time


def now_ms():
    return int(time.time() * 1000)


class DB:
    def __init__(self):
        self.data = {}  # key -> bytes | dict(field -> value)
        self.kexp = {}  # key -> ms
        self.fexp = {}  # key -> {field: ms}

    def flush(self):
        self.__init__()

    def delkey(self, k):
        self.data.pop(k, None)
        self.kexp.pop(k, None)
        self.fexp.pop(k, None)

    def active_expire(self, budget=20000):
        t = now_ms()
        n = 0
        for k, at in list(self.kexp.items()):
            if at <= t:
                self.delkey(k)
                n += 1
                if n >= budget:
                    return
        for k, fe in list(self.fexp.items()):
            h = self.data.get(k)
            for f, at in list(fe.items()):
                if at <= t:
                    del fe[f]
                    if isinstance(h, dict):
                        h.pop(f, None)
                    n += 1
                    if n >= budget:
                        break
            if not fe:
                self.fexp.pop(k, None)
            if isinstance(h, dict) and not h:
                self.delkey(k)
            if n >= budget:
                return


def bulk(b):
    return b"$-1\r\n" if b is None else b"$%d\r\n%s\r\n" % (len(b), b)


def arr(items):
    return b"*%d\r\n" % len(items) + b"".join(items)


def integer(i):
    return b":%d\r\n" % i


OK = b"+OK\r\n"


def err(msg):
    return b"-" + msg.encode() + b"\r\n"


def fields_arg(args, i):
    if args[i].upper() != b"FIELDS":
        raise ValueError("syntax error")
    n = int(args[i + 1])
    return n, args[i + 2:]


def execute(db, a):
    cmd = a[0].upper()
    t = now_ms()
    if cmd == b"PING":
        return b"+PONG\r\n"
    if cmd == b"FLUSHALL":
        db.flush()
        return OK
    if cmd == b"DBSIZE":
        return integer(len(db.data))
    if cmd == b"INFO":
        import resource

        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        s = "# Memory\r\nused_memory:%d\r\n" % rss
        return bulk(s.encode())
    if cmd == b"SET":
        db.delkey(a[1])
        db.data[a[1]] = a[2]
        return OK
    if cmd == b"GET":
        v = db.data.get(a[1])
        return bulk(v if isinstance(v, bytes) else None)
    if cmd == b"DEL":
        n = sum(1 for k in a[1:] if k in db.data)
        for k in a[1:]:
            db.delkey(k)
        return integer(n)
    if cmd == b"PEXPIREAT":
        if a[1] not in db.data:
            return integer(0)
        db.kexp[a[1]] = int(a[2])
        return integer(1)
    if cmd == b"HSET":
        h = db.data.setdefault(a[1], {})
        new = 0
        for i in range(2, len(a), 2):
            new += a[i] not in h
            h[a[i]] = a[i + 1]
            db.fexp.get(a[1], {}).pop(a[i], None)
        return integer(new)
    if cmd == b"HSETEX":
        i = 2
        at = None
        if a[i].upper() in (b"PX", b"PXAT", b"EX", b"EXAT"):
            opt, v = a[i].upper(), int(a[i + 1])
            at = {b"PX": t + v, b"PXAT": v, b"EX": t + 1000 * v, b"EXAT": 1000 * v}[opt]
            i += 2
        n, rest = fields_arg(a, i)
        h = db.data.setdefault(a[1], {})
        fe = db.fexp.setdefault(a[1], {})
        for j in range(n):
            f, v = rest[2 * j], rest[2 * j + 1]
            h[f] = v
            if at is None:
                fe.pop(f, None)
            else:
                fe[f] = at
        return integer(1)
    if cmd == b"HPEXPIRE":
        ms = int(a[2])
        n, rest = fields_arg(a, 3)
        h = db.data.get(a[1])
        out = []
        for f in rest[:n]:
            if not isinstance(h, dict) or f not in h:
                out.append(integer(-2))
            else:
                db.fexp.setdefault(a[1], {})[f] = t + ms
                out.append(integer(1))
        return arr(out)
    if cmd == b"HTTL":
        n, rest = fields_arg(a, 2)
        h = db.data.get(a[1])
        fe = db.fexp.get(a[1], {})
        out = []
        for f in rest[:n]:
            if not isinstance(h, dict) or f not in h:
                out.append(integer(-2))
            elif f in fe:
                out.append(integer(max(0, (fe[f] - t) // 1000)))
            else:
                out.append(integer(-1))
        return arr(out)
    if cmd == b"HGET":
        h = db.data.get(a[1])
        return bulk(h.get(a[2]) if isinstance(h, dict) else None)
    if cmd == b"HGETALL":
        h = db.data.get(a[1]) or {}
        items = []
        for f, v in h.items():
            items += [bulk(f), bulk(v)]
        return arr(items)
    return err("ERR unknown command '%s', with args beginning with: "
               % a[0].decode(errors="replace"))


async def handle(db, reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            if not line.startswith(b"*"):
                writer.write(err("ERR inline protocol not supported"))
                continue
            n = int(line[1:])
            args = []
            for _ in range(n):
                ln = int((await reader.readline())[1:])
                args.append((await reader.readexactly(ln + 2))[:-2])
            try:
                writer.write(execute(db, args))
            except (ValueError, IndexError) as e:
                writer.write(err("ERR %s" % e))
            if not reader._buffer:  # flush when the pipeline is drained
                await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def expirer(db):
    while True:
        db.active_expire()
        await asyncio.sleep(0.01)


async def main():
    argv = sys.argv[1:]
    port, host = 6379, "127.0.0.1"
    if "--version" in argv:
        print("fake_mayfly (bench self-test stand-in)")
        return
    for i, a in enumerate(argv):
        if a == "--port":
            port = int(argv[i + 1])
        elif a == "--bind":
            host = argv[i + 1]
    db = DB()
    server = await asyncio.start_server(lambda r, w: handle(db, r, w), host, port)
    asyncio.get_running_loop().create_task(expirer(db))
    print("fake_mayfly pid %d listening on %s:%d" % (os.getpid(), host, port), flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
