"""redis-py (Debian python3-redis 4.3.4, RESP2 only) against a running mayfly-server.

Run by tests/clients/run_client.c with /usr/bin/python3 (Debian's redis package is not
importable from a pyenv/venv python); it starts the server and sets MAYFLY_PORT. Each
scenario prints "ok - name"; the first failure prints "not ok - name: why" and exits 1.
SIGALRM bounds the whole run to 30 s.
"""
import os
import signal
import sys
import time
import traceback

import redis

PORT = int(os.environ.get("MAYFLY_PORT", "0"))
if not PORT:
    sys.exit("MAYFLY_PORT is not set")


def on_alarm(_sig, _frame):
    print("not ok - redis-py run timed out after 30 s", flush=True)
    os._exit(1)


signal.signal(signal.SIGALRM, on_alarm)
signal.alarm(30)

DB = 4
OPEN = []


def connect(db=DB, **kw):
    c = redis.Redis(host="127.0.0.1", port=PORT, db=db, decode_responses=True,
                    socket_timeout=5, **kw)
    OPEN.append(c)
    return c


def wait_message(ps, want_type, timeout_s=3.0):
    """Returns the next message of type want_type, skipping others, or fails."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        m = ps.get_message(timeout=0.1)
        if m is not None and m["type"] == want_type:
            return m
    raise AssertionError(f"no {want_type} message within {timeout_s} s")


def eq(want, got, what=""):
    assert want == got, f"{what}: expected {want!r}, got {got!r}"


SCENARIOS = []


def scenario(fn):
    SCENARIOS.append(fn)
    return fn


r = connect()


@scenario
def ping_and_db_selection():
    eq(True, r.ping(), "PING")
    r.flushdb()  # the script may be rerun against one server
    assert f" db={DB} " in r.execute_command("CLIENT", "INFO"), "SELECT was not applied"
    r.set("py:s", "v1")
    other = connect(db=0)
    eq(None, other.get("py:s"), "db 0 sees a db 4 key")


@scenario
def set_get():
    eq(True, r.set("py:s", "v1"), "SET")
    eq("v1", r.get("py:s"), "GET")
    eq(None, r.get("py:missing"), "GET missing")
    eq(None, r.set("py:s", "v2", nx=True), "SET NX on existing")


@scenario
def hset_hgetall():
    eq(3, r.hset("py:h", mapping={"a": "1", "b": "2", "c": "3"}), "HSET")
    eq({"a": "1", "b": "2", "c": "3"}, r.hgetall("py:h"), "HGETALL")
    eq({}, r.hgetall("py:nothing"), "HGETALL missing")


@scenario
def hash_field_ttl_via_execute_command():
    x = r.execute_command
    eq(1, x("HSETEX", "py:t", "EX", 100, "FIELDS", 2, "f", "v", "g", "w"), "HSETEX")
    ttl = x("HTTL", "py:t", "FIELDS", 3, "f", "g", "none")
    assert 90 < ttl[0] <= 100 and ttl[2] == -2, f"HTTL {ttl}"
    eq(["v"], x("HGETEX", "py:t", "PERSIST", "FIELDS", 1, "f"), "HGETEX PERSIST")
    eq([-1], x("HTTL", "py:t", "FIELDS", 1, "f"), "HTTL after PERSIST")
    eq([1, -2], x("HPEXPIRE", "py:t", 500000, "FIELDS", 2, "f", "x"), "HPEXPIRE")
    assert x("HPTTL", "py:t", "FIELDS", 1, "f")[0] > 400000, "HPTTL"
    eq([1, 1], x("HPERSIST", "py:t", "FIELDS", 2, "f", "g"), "HPERSIST")
    eq([-1, -1], x("HTTL", "py:t", "FIELDS", 2, "f", "g"), "HTTL after HPERSIST")
    eq(["w"], x("HGETDEL", "py:t", "FIELDS", 1, "g"), "HGETDEL")
    eq({"f": "v"}, r.hgetall("py:t"), "HGETALL after HGETDEL")


@scenario
def pipeline_is_a_transaction():
    p = r.pipeline()  # transaction=True: MULTI ... EXEC
    p.set("py:m", "1").incr("py:m").get("py:m").hset("py:mh", "f", "v")
    eq([True, 2, "2", 1], p.execute(), "EXEC")
    # A queue-time error aborts the whole transaction.
    p = r.pipeline()
    p.set("py:m", "5").execute_command("NOSUCHCOMMAND")
    try:
        p.execute()
        raise AssertionError("EXECABORT expected")
    except redis.ResponseError as e:
        assert "EXECABORT" in str(e) or "unknown command" in str(e), str(e)
    eq("2", r.get("py:m"), "value after aborted EXEC")


@scenario
def watch_via_transaction():
    other = connect()
    r.set("py:w", "0")
    calls = []

    def body(pipe):
        calls.append(1)
        cur = pipe.get("py:w")  # immediate mode, after WATCH
        if len(calls) == 1:
            other.set("py:w", "changed")  # conflict: the first EXEC must fail
        pipe.multi()
        pipe.set("py:w", cur + "+1")

    eq([True], r.transaction(body, "py:w"), "transaction() result")
    eq(2, len(calls), "transaction() retried after WatchError")
    eq("changed+1", r.get("py:w"), "value after retry")
    # The explicit form raises WatchError.
    with r.pipeline() as pipe:
        pipe.watch("py:w")
        other.set("py:w", "again")
        pipe.multi()
        pipe.set("py:w", "mine")
        try:
            pipe.execute()
            raise AssertionError("WatchError expected")
        except redis.WatchError:
            pass
    eq("again", r.get("py:w"), "value after failed EXEC")


@scenario
def pubsub():
    ps = r.pubsub()
    ps.subscribe("py:ch")
    eq(1, wait_message(ps, "subscribe")["data"], "subscribe count")
    ps.psubscribe("py:p*")
    eq(2, wait_message(ps, "psubscribe")["data"], "psubscribe count")
    ps.ping()  # in subscribe mode RESP2 PING answers ["pong", ""]
    eq("", wait_message(ps, "pong")["data"], "pubsub ping")
    eq(1, r.publish("py:ch", "hello"), "PUBLISH to channel")
    m = wait_message(ps, "message")
    eq(("py:ch", "hello"), (m["channel"], m["data"]), "message")
    eq(1, r.publish("py:pat", "world"), "PUBLISH to pattern")
    m = wait_message(ps, "pmessage")
    eq(("py:p*", "py:pat", "world"), (m["pattern"], m["channel"], m["data"]), "pmessage")
    ps.unsubscribe("py:ch")
    eq(1, wait_message(ps, "unsubscribe")["data"], "unsubscribe count")
    ps.punsubscribe("py:p*")
    eq(0, wait_message(ps, "punsubscribe")["data"], "punsubscribe count")
    eq(0, r.publish("py:ch", "nobody"), "PUBLISH after unsubscribe")
    ps.close()


@scenario
def pubsub_health_check():
    # With health_check_interval redis-py PINGs a subscribed connection with a message and
    # swallows the ["pong", "redis-py-health-check"] answer.
    hc = connect(health_check_interval=1)
    ps = hc.pubsub()
    ps.subscribe("py:hc")
    wait_message(ps, "subscribe")
    time.sleep(1.2)
    ps.check_health()  # sends PING redis-py-health-check
    deadline = time.monotonic() + 3
    while ps.health_check_response_counter and time.monotonic() < deadline:
        m = ps.get_message(timeout=0.1)
        assert m is None, f"health-check answer surfaced as a message: {m!r}"
    eq(0, ps.health_check_response_counter, "health-check answers recognised")
    eq(1, r.publish("py:hc", "after-health-check"), "PUBLISH")
    m = wait_message(ps, "message")
    eq("after-health-check", m["data"], "message after health check")
    ps.close()


@scenario
def keyspace_notification_hexpired():
    eq(True, r.config_set("notify-keyspace-events", "Kh"), "CONFIG SET")
    ps = r.pubsub()
    ps.subscribe(f"__keyspace@{DB}__:py:exp")
    wait_message(ps, "subscribe")
    r.hset("py:exp", mapping={"f": "v", "keep": "k"})
    eq([1], r.execute_command("HPEXPIRE", "py:exp", 50, "FIELDS", 1, "f"), "HPEXPIRE")
    seen = [wait_message(ps, "message")["data"] for _ in range(3)]
    eq(["hset", "hexpire", "hexpired"], seen, "events")
    eq({"keep": "k"}, r.hgetall("py:exp"), "HGETALL after expiry")
    r.config_set("notify-keyspace-events", "")
    ps.close()


@scenario
def lock_acquire_extend_release():
    # redis-py's Lock releases, extends and reacquires through Lua scripts (EVALSHA).
    from redis.exceptions import LockNotOwnedError
    lock = r.lock("py:lock", timeout=5, blocking_timeout=1)
    eq(True, lock.acquire(), "acquire")
    other = r.lock("py:lock", timeout=5)
    eq(False, other.acquire(blocking=False), "second acquire")
    eq(True, lock.extend(10), "extend")
    assert 5000 < r.pttl("py:lock") <= 15000, "extend added to the TTL"
    eq(True, lock.reacquire(), "reacquire")
    assert 0 < r.pttl("py:lock") <= 5000, "reacquire reset the TTL"
    eq(True, lock.owned(), "owned")
    lock.release()
    eq(False, lock.locked(), "released")
    eq(True, other.acquire(blocking=False), "acquire after release")
    stale = r.lock("py:lock", timeout=5)
    stale.local.token = b"not-the-owner"
    try:
        stale.release()
        raise AssertionError("release by another token succeeded")
    except LockNotOwnedError:
        pass
    other.release()
    with r.lock("py:lock2", timeout=2):
        eq(1, r.exists("py:lock2"), "context manager holds the lock")
    eq(0, r.exists("py:lock2"), "context manager released the lock")


@scenario
def register_script_and_functions():
    incr_by = r.register_script(
        "local v = redis.call('INCRBY', KEYS[1], ARGV[1]) "
        "redis.call('HSETEX', KEYS[2], 'PX', 60000, 'FIELDS', 1, 'n', v) "
        "return {v, redis.call('HTTL', KEYS[2], 'FIELDS', 1, 'n')[1]}")
    eq([5, 60], incr_by(keys=["py:cnt", "py:h"], args=[5]), "first call (EVALSHA, then EVAL)")
    eq([7, 60], incr_by(keys=["py:cnt", "py:h"], args=[2]), "second call (EVALSHA)")
    r.script_flush()
    eq([8, 60], incr_by(keys=["py:cnt", "py:h"], args=[1]), "after SCRIPT FLUSH")
    pipe = r.pipeline()
    incr_by(keys=["py:cnt", "py:h"], args=[1], client=pipe)
    incr_by(keys=["py:cnt", "py:h"], args=[1], client=pipe)
    eq([[9, 60], [10, 60]], pipe.execute(), "in a pipeline")
    eq([True], r.script_exists(incr_by.sha), "SCRIPT EXISTS")
    eq("pylib", r.function_load(
        "#!lua name=pylib\n"
        "redis.register_function{function_name='pyget', flags={'no-writes'}, "
        "callback=function(k, a) return redis.call('GET', k[1]) end}",
        replace=True), "FUNCTION LOAD")
    eq("10", r.fcall("pyget", 1, "py:cnt"), "FCALL")
    eq("10", r.fcall_ro("pyget", 1, "py:cnt"), "FCALL_RO of a no-writes function")


failed = False
for fn in SCENARIOS:
    try:
        fn()
        print(f"ok - {fn.__name__}", flush=True)
    except Exception:  # noqa: BLE001 - report any failure with its traceback
        print(f"not ok - {fn.__name__}:\n{traceback.format_exc()}", flush=True)
        failed = True
        break
for c in OPEN:
    c.close()
print("redis-py: FAILED" if failed else f"redis-py {redis.__version__}: all {len(SCENARIOS)} "
      "scenarios passed", flush=True)
sys.exit(1 if failed else 0)
