#!/bin/sh
# `make docker-test`: builds the container image from the Dockerfile and talks to the
# server inside it, on a machine with no Docker engine and no registry access.
#
#   1. installs podman, buildah, debootstrap, redis-tools, iproute2 (apt-get, if missing);
#   2. makes the base image localhost/debian:bookworm-slim from a debootstrap (minbase)
#      of Debian 12, using the mirror this host's apt uses; the root file system is cached
#      as a tarball in $MAYFLY_DOCKER_CACHE (default /var/cache/mayfly-docker);
#   3. `podman build --isolation=chroot` of the Dockerfile with BASE_IMAGE set to it;
#   4. in a private network namespace that has only loopback (so the image's default
#      `--bind 0.0.0.0` reaches nothing else), runs the image's entrypoint with
#      `buildah run --isolation chroot` and checks it from the host with redis-cli:
#      PING, HSETEX/HTTL round trip, the HEALTHCHECK script, the non-root user, the
#      MAYFLY_PASSWORD variable, the config-file form, a clean stop on SIGTERM, and that
#      a hash with field TTLs written to a host directory mounted as /data comes back,
#      same deadlines, in a new container (snapshot on SIGTERM; and --appendonly yes);
#   5. stops and removes every container and process it started. The built images and
#      the cached base stay, so a rerun takes seconds (MAYFLY_DOCKER_CLEAN=1 removes the
#      images too).
#
# Needs root (debootstrap, chroot isolation, network namespaces). Every wait is bounded.
# Environment: MAYFLY_DOCKER_IMAGE (tag to build and test, default localhost/mayfly:test),
# MAYFLY_DOCKER_NO_BUILD=1 (test the existing image), MAYFLY_DEBIAN_MIRROR (override).
set -eu

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
IMAGE=${MAYFLY_DOCKER_IMAGE:-localhost/mayfly:test}
BASE_IMAGE=localhost/debian:bookworm-slim
CACHE=${MAYFLY_DOCKER_CACHE:-/var/cache/mayfly-docker}
BASE_TAR=$CACHE/bookworm-minbase.tar
PORT=6379
SERVER_LOG=${MAYFLY_DOCKER_SERVER_LOG:-${TMPDIR:-/tmp}/mayfly-docker-test.$$.log}

say() { printf '[docker-test %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { say "FAIL: $*"; exit 1; }

# ---------------------------------------------------------------------------------------
# Phase 2 (run by phase 1 under `unshare --net`): start the container and check it.
# ---------------------------------------------------------------------------------------
if [ "${1:-}" = "--in-netns" ]; then
    passed=0
    failed=0
    ctr=
    runpid=
    ok() { passed=$((passed + 1)); say "ok   $*"; }
    bad() { failed=$((failed + 1)); say "FAIL $*"; }
    cli() { timeout 5 redis-cli -h 127.0.0.1 -p "$PORT" "$@" 2>&1 || true; }

    # Processes in this network namespace called mayfly-server. Only this script's
    # containers live here, so this never matches a server of anybody else.
    mynet=$(readlink /proc/self/ns/net)
    server_pids() {
        for d in /proc/[0-9]*; do
            [ "$(cat "$d/comm" 2>/dev/null)" = mayfly-server ] || continue
            [ "$(readlink "$d/ns/net" 2>/dev/null)" = "$mynet" ] && echo "${d#/proc/}"
        done
        return 0
    }

    stop_server() { # SIGTERM, up to 10 s for a clean exit; then SIGKILL. Sets $stop_rc.
        stop_rc=
        [ -n "$runpid" ] || return 0
        for p in $(server_pids); do kill -TERM "$p" 2>/dev/null || true; done
        i=0
        while kill -0 "$runpid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        if kill -0 "$runpid" 2>/dev/null; then
            stop_rc=timeout
            for p in $(server_pids); do kill -KILL "$p" 2>/dev/null || true; done
            kill -KILL "$runpid" 2>/dev/null || true
        fi
        rc=0
        wait "$runpid" || rc=$?
        [ -n "$stop_rc" ] || stop_rc=$rc
        runpid=
    }

    datadirs=
    cleanup() {
        stop_server || true
        [ -n "$ctr" ] && timeout 60 buildah rm "$ctr" >/dev/null 2>&1 || true
        ctr=
        for d in $datadirs; do
            case $d in */mayfly-docker-data.*) rm -rf --one-file-system "$d" ;; esac
        done
        datadirs=
    }
    trap cleanup EXIT
    trap 'exit 130' INT TERM

    ip link set lo up

    # start LABEL [buildah run options] -- COMMAND...: a fresh container from the image,
    # running COMMAND through the image's entrypoint as `docker run IMAGE COMMAND` would.
    start() {
        label=$1
        shift
        [ -z "$ctr" ] || drop
        ctr=$(timeout 120 buildah from --pull-never "$IMAGE")
        opts=
        while [ "$1" != "--" ]; do opts="$opts $1"; shift; done
        shift
        # `docker run -v DIR:/data` replaces the image's VOLUME /data with DIR. buildah run
        # (1.28) instead mounts its own copy of the image's /data over DIR, so drop the
        # declared volume from this container first.
        case "$opts " in
            *:/data\ *) timeout 60 buildah config --volume /data- "$ctr" ;;
        esac
        # shellcheck disable=SC2086
        timeout 600 buildah run --isolation chroot $opts "$ctr" -- \
            docker-entrypoint.sh "$@" >"$SERVER_LOG" 2>&1 &
        runpid=$!
        i=0
        while [ $i -lt 150 ]; do # up to 30 s for the first reply
            r=$(cli PING || true)
            case $r in PONG | *NOAUTH*) break ;; esac
            kill -0 "$runpid" 2>/dev/null || break
            sleep 0.2
            i=$((i + 1))
        done
        say "started $label: $(server_pids | tr '\n' ' ')"
    }
    finish() {
        stop_server
        if [ "$stop_rc" = 0 ]; then ok "$1: exits 0 within 10 s of SIGTERM"; else
            bad "$1: SIGTERM stop gave '$stop_rc'"
            sed 's/^/    server: /' "$SERVER_LOG" | tail -20
        fi
    }
    drop() { # removes the stopped container
        timeout 60 buildah rm "$ctr" >/dev/null 2>&1 || true
        ctr=
    }
    expect() { # expect DESCRIPTION EXPECTED ACTUAL
        if [ "$3" = "$2" ]; then ok "$1"; else bad "$1: expected '$2', got '$3'"; fi
    }
    healthcheck() { # runs the image's HEALTHCHECK command in the running container
        timeout 20 buildah run --isolation chroot "$@" "$ctr" -- docker-healthcheck >/dev/null 2>&1
    }

    # --- 1: `docker run mayfly`: defaults --------------------------------------------
    start "default" -- mayfly-server
    expect "default: PING" PONG "$(cli PING)"
    expect "default: HSETEX k PX 100000 FIELDS 1 f v" 1 \
        "$(cli HSETEX k PX 100000 FIELDS 1 f v)"
    ttl=$(cli HTTL k FIELDS 1 f)
    case $ttl in
        [1-9] | [1-9][0-9] | 100) ok "default: HTTL k FIELDS 1 f -> $ttl" ;;
        *) bad "default: HTTL k FIELDS 1 f: expected 1..100, got '$ttl'" ;;
    esac
    expect "default: HGET k f" v "$(cli HGET k f)"
    expect "default: CONFIG GET protected-mode" "protected-mode no" \
        "$(cli CONFIG GET protected-mode | tr '\n' ' ' | sed 's/ $//')"
    expect "default: CONFIG GET bind" "bind 0.0.0.0 -::" \
        "$(cli CONFIG GET bind | tr '\n' ' ' | sed 's/ $//')"
    if healthcheck; then ok "default: HEALTHCHECK passes"; else bad "default: HEALTHCHECK fails"; fi
    users=
    for p in $(server_pids); do
        users="$users$(awk '/^Uid:/ { print $2 }' "/proc/$p/status") "
    done
    expect "default: server runs as uid 999 (mayfly), not root" "999 " "$users"
    finish default
    if healthcheck; then bad "HEALTHCHECK passes with no server"; else ok "HEALTHCHECK fails with no server"; fi
    drop

    # --- 2: MAYFLY_PASSWORD -----------------------------------------------------------
    start "MAYFLY_PASSWORD" --env MAYFLY_PASSWORD=s3cret -- mayfly-server
    case $(cli PING) in
        *NOAUTH*) ok "password: PING without AUTH is refused (NOAUTH)" ;;
        *) bad "password: PING without AUTH: got '$(cli PING)'" ;;
    esac
    expect "password: PING with AUTH" PONG "$(cli --no-auth-warning -a s3cret PING)"
    if healthcheck --env MAYFLY_PASSWORD=s3cret; then ok "password: HEALTHCHECK passes";
    else bad "password: HEALTHCHECK fails"; fi
    finish password
    drop

    # --- 3: `docker run mayfly --requirepass s3cret`: options go to the server --------
    start "--requirepass" -- --requirepass s3cret
    expect "--requirepass: PING with AUTH" PONG "$(cli --no-auth-warning -a s3cret PING)"
    if healthcheck; then ok "--requirepass: HEALTHCHECK without the password passes (NOAUTH = up)";
    else bad "--requirepass: HEALTHCHECK without the password fails"; fi
    finish requirepass
    drop

    # --- 4: `docker run mayfly mayfly-server /etc/mayfly/mayfly.conf --hz 20` ---------
    start "config file" -- mayfly-server /etc/mayfly/mayfly.conf --hz 20
    expect "config file: PING" PONG "$(cli PING)"
    expect "config file: --hz 20 applies" "hz 20" "$(cli CONFIG GET hz | tr '\n' ' ' | sed 's/ $//')"
    finish config
    drop

    # --- 5, 6: data in /data survives a new container: snapshot, then append-only log ---
    # A host directory is mounted as /data (as `docker run -v /srv/mayfly:/data`); the
    # first container writes a hash with field TTLs and stops on SIGTERM, a second one
    # started on the same directory must show the same fields and the same absolute
    # deadlines (HPEXPIRETIME, so the check does not depend on how long the restart took).
    persist_case() { # persist_case LABEL FILE-EXPECTED FILE-NOT-EXPECTED [server options]
        plabel=$1
        want_file=$2
        no_file=$3
        shift 3
        datadir=$(mktemp -d "${TMPDIR:-/tmp}/mayfly-docker-data.XXXXXX")
        datadirs="$datadirs $datadir"
        start "$plabel (1st container)" --volume "$datadir:/data" -- mayfly-server "$@"
        expect "$plabel: HSETEX h PX 3600000 FIELDS 2 a 1 b 2" 1 \
            "$(cli HSETEX h PX 3600000 FIELDS 2 a 1 b 2)"
        expect "$plabel: HSETEX h PX 7200000 FIELDS 1 c 3" 1 "$(cli HSETEX h PX 7200000 FIELDS 1 c 3)"
        expect "$plabel: HSET h plain x" 1 "$(cli HSET h plain x)"
        deadlines=$(cli HPEXPIRETIME h FIELDS 4 a b c plain | tr '\n' ' ')
        case $deadlines in
            1[0-9]*\ 1[0-9]*\ 1[0-9]*\ -1\ ) ok "$plabel: HPEXPIRETIME h -> $deadlines" ;;
            *) bad "$plabel: HPEXPIRETIME h: got '$deadlines'" ;;
        esac
        finish "$plabel (1st container)"
        drop
        if [ -e "$datadir/$want_file" ]; then ok "$plabel: /data has $want_file after the stop"
        else bad "$plabel: no $want_file in /data: $(ls -A "$datadir" | tr '\n' ' ')"; fi
        if [ -e "$datadir/$no_file" ]; then bad "$plabel: /data has $no_file"
        else ok "$plabel: /data has no $no_file"; fi
        start "$plabel (2nd container, same /data)" --volume "$datadir:/data" -- mayfly-server "$@"
        expect "$plabel: after restart, HPEXPIRETIME h is unchanged" "$deadlines" \
            "$(cli HPEXPIRETIME h FIELDS 4 a b c plain | tr '\n' ' ')"
        expect "$plabel: after restart, HMGET h a b c plain" "1 2 3 x " \
            "$(cli HMGET h a b c plain | tr '\n' ' ')"
        ttl=$(cli HTTL h FIELDS 1 c)
        case $ttl in
            71[0-9][0-9] | 7200) ok "$plabel: after restart, HTTL h FIELDS 1 c -> $ttl" ;;
            *) bad "$plabel: after restart, HTTL h FIELDS 1 c: expected 7100..7200, got '$ttl'" ;;
        esac
        finish "$plabel (2nd container)"
        drop
    }
    persist_case "snapshot" dump.rdb appendonlydir
    # save "": no snapshot at all, so what comes back can only come from the log.
    persist_case "appendonly" appendonlydir/appendonly.aof.manifest dump.rdb --appendonly yes --save ""

    say "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
fi

# ---------------------------------------------------------------------------------------
# Phase 1: tools, base image, image build; then phase 2 in a private network namespace.
# ---------------------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot isolation, network namespaces); try: sudo make docker-test"

need=
command -v podman >/dev/null 2>&1 || need="$need podman"
command -v buildah >/dev/null 2>&1 || need="$need buildah"
command -v debootstrap >/dev/null 2>&1 || need="$need debootstrap"
command -v redis-cli >/dev/null 2>&1 || need="$need redis-tools"
command -v ip >/dev/null 2>&1 || need="$need iproute2"
command -v unshare >/dev/null 2>&1 || need="$need util-linux"
[ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || need="$need debian-archive-keyring"
if [ -n "$need" ]; then
    say "installing:$need"
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get update -qq || die "apt-get update"
    # shellcheck disable=SC2086
    timeout 1200 apt-get install -y -qq $need >/dev/null || die "apt-get install$need"
fi

# The Debian mirror this host's apt uses for bookworm (the only one reachable here).
mirror() {
    if [ -n "${MAYFLY_DEBIAN_MIRROR:-}" ]; then echo "$MAYFLY_DEBIAN_MIRROR"; return; fi
    m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
        BEGIN { RS = "" }
        /(^|\n)Suites:[^\n]*[ \t]bookworm([ \t]|\n|$)/ {
            if (match($0, /(^|\n)URIs:[ \t]*[^ \t\n]+/)) {
                s = substr($0, RSTART, RLENGTH); sub(/^\n?URIs:[ \t]*/, "", s); print s; exit
            }
        }')
    [ -n "$m" ] || m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '
        $1 == "deb" { for (i = 2; i < NF; i++) if ($i ~ /:\/\// && $(i + 1) == "bookworm") { print $i; exit } }')
    echo "${m:-http://deb.debian.org/debian}"
}

mkdir -p "$CACHE"
if ! podman image exists "$BASE_IMAGE"; then
    if [ ! -s "$BASE_TAR" ]; then
        MIRROR=$(mirror)
        rootfs=$CACHE/rootfs.$$
        say "debootstrap --variant=minbase bookworm from $MIRROR (about a minute)"
        rm -rf "$rootfs"
        timeout 1200 debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" \
            >"$CACHE/debootstrap.log" 2>&1 || {
            tail -20 "$CACHE/debootstrap.log"
            rm -rf --one-file-system "$rootfs"
            die "debootstrap (log: $CACHE/debootstrap.log)"
        }
        # Slim it the way debian:bookworm-slim is: no docs, man pages or locales, now or
        # from later installs, and no package caches.
        cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
EOF
        cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
        find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
        find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
        rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/groff/* \
            "$rootfs"/usr/share/lintian/* "$rootfs"/var/cache/apt/archives/*.deb \
            "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/*
        find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias \
            -exec rm -rf {} +
        tar -C "$rootfs" --one-file-system -cf "$BASE_TAR.tmp" . && mv "$BASE_TAR.tmp" "$BASE_TAR"
        rm -rf --one-file-system "$rootfs"
    fi
    say "importing $BASE_IMAGE from $BASE_TAR"
    timeout 300 podman import --quiet "$BASE_TAR" "$BASE_IMAGE" >/dev/null || die "podman import"
fi

if [ "${MAYFLY_DOCKER_NO_BUILD:-0}" != 1 ]; then
    say "podman build --isolation=chroot -t $IMAGE (log: $CACHE/build.log)"
    # --format docker: the OCI format has no HEALTHCHECK. --layers: reruns reuse layers.
    if ! timeout 1800 podman build --isolation=chroot --format docker --layers \
        --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$IMAGE" -f Dockerfile . \
        >"$CACHE/build.log" 2>&1; then
        tail -30 "$CACHE/build.log"
        die "podman build"
    fi
fi
size=$(podman image inspect "$IMAGE" --format '{{.Size}}')
base=$(podman image inspect "$BASE_IMAGE" --format '{{.Size}}')
say "image $IMAGE: $((size / 1000000)) MB, of which $(((size - base) / 1000000)) MB on top of the base"

# The image's metadata a Docker user relies on.
cfg=$(podman image inspect "$IMAGE" --format \
    '{{.Config.Entrypoint}} {{.Config.Cmd}} {{.Config.WorkingDir}} {{.Config.Volumes}} {{.Config.ExposedPorts}} {{.Config.StopSignal}}')
hc=$(podman image inspect "$IMAGE" --format '{{.HealthCheck.Test}}' 2>/dev/null || true)
case "$cfg $hc" in
    "[docker-entrypoint.sh] [mayfly-server] /data map[/data:{}] map[6379/tcp:{}] SIGTERM [CMD docker-healthcheck]") ;;
    *) die "unexpected image config: $cfg $hc" ;;
esac
say "image config: $cfg healthcheck=$hc"

rc=0
MAYFLY_DOCKER_IMAGE=$IMAGE MAYFLY_DOCKER_SERVER_LOG=$SERVER_LOG timeout 900 unshare --net sh "$ROOT/tests/docker/run.sh" --in-netns || rc=$?
rm -f "$SERVER_LOG"

if [ "${MAYFLY_DOCKER_CLEAN:-0}" = 1 ]; then
    say "removing $IMAGE and dangling build layers"
    podman rmi "$IMAGE" >/dev/null 2>&1 || true
    podman image prune -f >/dev/null 2>&1 || true
fi
[ "$rc" -eq 0 ] || die "container checks (exit $rc)"
say "all good"
