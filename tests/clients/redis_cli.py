"""redis-cli (Debian redis-tools 7.0.15) against a running mayfly-server.

Run by tests/clients/run_client.c, which starts the server and sets MAYFLY_PORT; needs only
the standard library. The expected outputs and exit codes are what redis-cli prints
against a real Redis (measured with Debian's redis-server 7.0.15). Each scenario prints
"ok - name"; the first failure prints "not ok - name: why" and exits 1. Every redis-cli run
is bounded by 20 s and SIGALRM bounds the whole run to 60 s.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import traceback

PORT = os.environ.get("MAYFLY_PORT")
if not PORT:
    sys.exit("MAYFLY_PORT is not set")
CLI = os.environ.get("REDIS_CLI") or shutil.which("redis-cli")


def on_alarm(_sig, _frame):
    print("not ok - redis-cli run timed out after 60 s", flush=True)
    os._exit(1)


signal.signal(signal.SIGALRM, on_alarm)
signal.alarm(60)


def cli(*args, stdin=None, db=None):
    """Runs redis-cli (stdout is a pipe, so its output is raw); returns (rc, out, err)."""
    argv = [CLI, "-h", "127.0.0.1", "-p", PORT]
    if db is not None:
        argv += ["-n", str(db)]
    p = subprocess.run(argv + list(args), input=stdin, capture_output=True, timeout=20)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def ok(*args, **kw):
    """Runs redis-cli expecting exit status 0; returns its stdout."""
    rc, out, err = cli(*args, **kw)
    assert rc == 0, f"redis-cli {' '.join(args)} exited {rc}: {out!r} {err!r}"
    return out


def eq(want, got, what=""):
    assert want == got, f"{what}: expected {want!r}, got {got!r}"


def resp(*args):
    """One command in the RESP protocol, as --pipe reads it."""
    out = f"*{len(args)}\r\n"
    for a in args:
        b = str(a).encode()
        out += f"${len(b)}\r\n{a}\r\n"
    return out


SCENARIOS = []


def scenario(fn):
    SCENARIOS.append(fn)
    return fn


@scenario
def pipe_mass_insertion():
    ok("FLUSHALL")
    cmds = [resp("SET", f"user:{i}", f"v{i}") for i in range(1000)]
    cmds += [resp("HSET", "h:big", f"f{i}", "x" * i) for i in range(200)]
    cmds.append(resp("HSETEX", "h:ttl", "EX", 100, "FIELDS", 1, "f", "v"))
    out = ok("--pipe", stdin="".join(cmds).encode())
    assert "errors: 0, replies: 1201" in out, out  # the ECHO end marker came back
    eq("1002\n", ok("DBSIZE"), "DBSIZE after --pipe")
    # An error reply in the stream is counted and makes the exit status 1.
    rc, out, _ = cli("--pipe", stdin=(resp("SET", "p", 1) + resp("NOSUCHCMD")).encode())
    assert rc == 1 and "errors: 1, replies: 2" in out, (rc, out)
    ok("DEL", "p")


@scenario
def scan_pattern():
    out = ok("--scan", "--pattern", "user:1*")
    keys = set(out.split())
    want = {f"user:{i}" for i in range(1000) if str(i).startswith("1")}
    eq(want, keys, "--scan --pattern user:1*")
    eq(1002, len(ok("--scan").split()), "--scan without pattern")


@scenario
def bigkeys():
    ok("SET", "str", "hello")
    out = ok("--bigkeys")
    assert "Biggest   hash found '\"h:big\"' has 200 fields" in out, out
    assert "Biggest string found '\"str\"' has 5 bytes" in out, out
    assert "Sampled 1003 keys in the keyspace!" in out, out
    assert "2 hashs with 201 fields" in out, out


@scenario
def memkeys():
    out = ok("--memkeys")
    line = [x for x in out.splitlines() if x.startswith("Biggest   hash found")]
    assert line and '"h:big"' in line[0], out
    size = int(line[0].split(" has ")[1].split()[0])
    assert size > sum(range(200)), f"MEMORY USAGE of h:big too small: {size}"
    assert "Sampled 1003 keys in the keyspace!" in out, out


@scenario
def resp3_hello():
    rc, out, err = cli("-3", "HELLO")
    eq(0, rc, "exit status")
    assert "HELLO 3 failed" not in out + err, out + err
    lines = out.splitlines()
    for want in ("server redis", "proto 3", "mode standalone", "role master"):
        assert want in lines, f"{want!r} not in {lines}"
    assert any(x.startswith("version ") for x in lines), lines


@scenario
def json_output():
    ok("HSET", "h:j", "a", "1", "b", "2")
    eq({"a": "1", "b": "2"}, json.loads(ok("--json", "HGETALL", "h:j")), "--json HGETALL")
    eq(None, json.loads(ok("--json", "GET", "missing")), "--json nil")
    ttl = json.loads(ok("--json", "HTTL", "h:ttl", "FIELDS", "2", "f", "nope"))
    assert isinstance(ttl, list) and 90 < ttl[0] <= 100 and ttl[1] == -2, ttl
    eq('error:"WRONGTYPE Operation against a key holding the wrong kind of value"\n',
       ok("--json", "HGET", "str", "f"), "--json error")


@scenario
def raw_nil_and_error():
    eq("\n", ok("GET", "missing"), "raw nil")
    rc, out, _ = cli("HGET", "str", "f")
    eq(0, rc, "exit status after an error reply")
    assert out.startswith("WRONGTYPE Operation against a key holding the wrong kind of value\n"), out
    rc, out, _ = cli("NOSUCHCMD", "x")
    eq(0, rc, "exit status after an unknown command")
    assert out.startswith("ERR unknown command 'NOSUCHCMD', with args beginning with: 'x'"), out


@scenario
def db_selection_and_field_ttl():
    eq("OK\n", ok("SET", "in3", "x", db=3), "SET in db 3")
    eq("\n", ok("GET", "in3"), "db 0 must not see db 3's key")
    eq("x\n", ok("GET", "in3", db=3), "GET in db 3")
    eq("1\n", ok("HSETEX", "t", "PX", "100000", "FIELDS", "1", "f", "v", db=3), "HSETEX")
    ttl = int(ok("HTTL", "t", "FIELDS", "1", "f", db=3))
    assert 90 <= ttl <= 100, ttl
    eq("1\n", ok("HPERSIST", "t", "FIELDS", "1", "f", db=3), "HPERSIST")
    eq("-1\n", ok("HTTL", "t", "FIELDS", "1", "f", db=3), "HTTL after HPERSIST")
    eq("v\n", ok("HGETDEL", "t", "FIELDS", "1", "f", db=3), "HGETDEL")
    eq("0\n", ok("EXISTS", "t", db=3), "the emptied hash is gone")


if not CLI:
    print("redis-cli not found", flush=True)
    sys.exit(77)
version = subprocess.run([CLI, "--version"], capture_output=True, timeout=10).stdout.decode()
failed = False
for fn in SCENARIOS:
    try:
        fn()
        print(f"ok - {fn.__name__}", flush=True)
    except Exception:  # noqa: BLE001 - report any failure with its traceback
        print(f"not ok - {fn.__name__}:\n{traceback.format_exc()}", flush=True)
        failed = True
        break
print("redis-cli: FAILED" if failed else
      f"{version.strip()}: all {len(SCENARIOS)} scenarios passed", flush=True)
sys.exit(1 if failed else 0)
