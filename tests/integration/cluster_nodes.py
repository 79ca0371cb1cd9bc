"""cluster_nodes: what the cluster scripts share (cluster_reshard.py,
cluster_redis_migration.py): starting cluster-enabled nodes (Mayfly or Debian's
redis-server) on free ports in a work directory, redis-cli calls, bounded waits,
`--cluster check`, slot counts from CLUSTER NODES, and stopping every process by PID.

Not a test of its own. Every wait is bounded; Cluster.stop_all() kills what was started.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


handed_out = set()  # the ports free_port gave: never twice


def free_port():
    """A loopback port that was free a moment ago and that this script has not handed out
    before: a node's port and bus port are picked before it binds them, and the kernel may
    give the same free port twice."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in handed_out:
            handed_out.add(port)
            return port
    raise AssertionError("no new free port in 100 tries")


def cli(*args, timeout=30, stdin=None):
    """redis-cli with args; returns (exit status, stdout + stderr). Past timeout seconds it
    fails, after printing the end of what redis-cli wrote so far (how far it got)."""
    argv = ["redis-cli"] + [str(a) for a in args]
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=stdin)
    except subprocess.TimeoutExpired as e:
        out = e.stdout or b""
        out = out.decode(errors="replace") if isinstance(out, bytes) else out
        print("--- redis-cli %s: its last output ---\n%s" % (" ".join(argv[1:3]), out[-3000:]))
        raise AssertionError("redis-cli %s timed out after %d s" % (" ".join(argv[1:]), timeout))
    return r.returncode, r.stdout + r.stderr


def cmd(port, *args):
    """One command to 127.0.0.1:port; its reply as redis-cli prints it, stripped."""
    return cli("-p", port, *args)[1].strip()


def wait_for(what, cond, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))


def info_field(port, section, field):
    """A field of INFO section (or CLUSTER INFO when section is "cluster-info"), or ""."""
    text = cmd(port, "CLUSTER", "INFO") if section == "cluster-info" else cmd(port, "INFO",
                                                                              section)
    m = re.search(r"^%s:(.*)$" % re.escape(field), text, re.M)
    return m.group(1).strip() if m else ""


class Node:
    """A cluster-enabled server process: its ports, directory and arguments (kept for a
    restart in the same directory, nodes.conf included)."""

    def __init__(self, binary, workdir, name, timeout_ms):
        self.binary, self.name, self.timeout_ms = binary, name, timeout_ms
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir)
        self.log = os.path.join(self.dir, "server.log")
        self.pick_ports()
        self.proc = None
        self.answered = False  # once it has, its ports are known to others: kept

    def pick_ports(self):
        self.port, self.bus = free_port(), free_port()
        self.args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
                     self.dir, "--cluster-enabled", "yes", "--cluster-port", str(self.bus),
                     "--cluster-node-timeout", str(self.timeout_ms), "--save", "",
                     "--appendonly", "no", "--logfile", self.log]

    def port_taken(self):
        """The node exited because a port of its own was taken between the pick and the
        bind (a connection's ephemeral port, another test's server)."""
        try:
            with open(self.log, errors="replace") as f:
                return "address already in use" in f.read().lower()
        except OSError:
            return False

    def start(self):
        """Starts the node and waits (bounded, 20 s) for its PING; on its first start, on new
        ports if one was taken before it bound it (3 pairs at most)."""
        for _ in range(3):
            self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            deadline = time.time() + 20
            while time.time() < deadline and self.proc.poll() is None:
                if cmd(self.port, "PING") == "PONG":
                    self.answered = True
                    return
                time.sleep(0.05)
            if self.proc.poll() is None:
                raise AssertionError("timed out after 20 s waiting for %s to answer" % self.name)
            if self.answered or not self.port_taken():
                raise AssertionError("%s exited while starting (status %s)"
                                     % (self.name, self.proc.returncode))
            print("# %s: port %d or %d was taken before it bound it" % (self.name, self.port,
                                                                        self.bus))
            os.unlink(self.log)  # the next start's log is read afresh
            self.pick_ports()
        raise AssertionError("%s: 3 pairs of ports taken in a row" % self.name)

    def kill(self):
        """SIGKILL, and reaped."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def call(self, *args):
        return cmd(self.port, *args)

    def addr(self):
        return "127.0.0.1:%d" % self.port


class Cluster:
    """The nodes of one script and the other processes it started, in one work directory
    (on /dev/shm when writable: every SETSLOT renames a new nodes.conf into place, which
    costs milliseconds per slot on a disk filesystem with online discard)."""

    def __init__(self, prefix, timeout_ms=5000):
        shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        self.workdir = tempfile.mkdtemp(prefix=prefix, dir=shm)
        self.timeout_ms = timeout_ms
        self.nodes = []
        self.procs = []  # other processes (clients) to stop

    def start(self, binary, name):
        n = Node(binary, self.workdir, name, self.timeout_ms)
        self.nodes.append(n)
        n.start()
        return n

    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()
        for n in self.nodes:
            n.kill()

    def dump_logs(self, lines=30):
        for n in self.nodes:
            if os.path.exists(n.log):
                print("--- %s log (tail) ---" % n.name)
                with open(n.log, errors="replace") as f:
                    sys.stdout.write("".join(f.readlines()[-lines:]))
            if n.alive():
                # The longest loop turn since start (Mayfly's INFO): a node busy for more
                # than the node timeout is failed over by the others.
                info = cmd(n.port, "INFO", "stats")
                wall = re.search(r"^mayfly_eventloop_turn_max_usec:(\d+)", info, re.M)
                cpu = re.search(r"^mayfly_eventloop_turn_cpu_max_usec:(\d+)", info, re.M)
                if wall and cpu:
                    print("--- %s longest loop turn: %.1f ms (CPU %.1f ms)"
                          % (n.name, int(wall.group(1)) / 1000, int(cpu.group(1)) / 1000))

    def run(self, body):
        """Runs body(self); prints "not ok" and the logs on a failure; stops every process,
        removes the work directory and exits with 0 or 1."""
        status = 1
        try:
            body(self)
            status = 0
        except (AssertionError, subprocess.TimeoutExpired, OSError) as e:
            print("not ok - %s" % e)
            self.dump_logs()
        finally:
            self.stop_all()
            shutil.rmtree(self.workdir, ignore_errors=True)
        sys.exit(status)


def check_clean(port, what, nodes=None):
    """`redis-cli --cluster check` from port: no [ERR], no [WARNING], every slot covered and,
    when given, that many nodes listed."""
    rc, out = cli("--cluster", "check", "127.0.0.1:%d" % port, timeout=60)
    listed = len(re.findall(r"^(?:\x1b\[[0-9;]*m)?[MS]: ", out, re.M))
    if rc != 0 or "[ERR]" in out or "[WARNING]" in out or \
            "[OK] All 16384 slots covered." not in out or (nodes and listed != nodes):
        print(out)
        raise AssertionError("--cluster check after %s is not clean" % what)
    print("ok - --cluster check clean after %s" % what)


def agree(port):
    rc, out = cli("--cluster", "check", "127.0.0.1:%d" % port)
    return rc == 0 and "[ERR]" not in out and "[WARNING]" not in out


def nodes_table(port):
    """CLUSTER NODES as {id: (flags, master id or "-", slot count)}."""
    out = {}
    for line in cmd(port, "CLUSTER", "NODES").splitlines():
        f = line.split()
        if len(f) < 8:
            continue
        n = 0
        for r in f[8:]:
            if not r.startswith("["):
                a, _, b = r.partition("-")
                n += int(b or a) - int(a) + 1
        out[f[0]] = (f[2], f[3], n)
    return out


def slots_of(port):
    """Slot count of each node, by id, from CLUSTER NODES."""
    return {k: v[2] for k, v in nodes_table(port).items()}


def require_tools(*tools):
    for tool in tools:
        if not shutil.which(tool):
            print("SKIP: %s is not installed (Debian redis-server / redis-tools)" % tool)
            sys.exit(77)
