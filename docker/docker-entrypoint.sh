#!/bin/sh
# Entrypoint of the Mayfly image. Accepts the same forms as the official redis image:
#   docker run mayfly                                  -> mayfly-server
#   docker run mayfly --requirepass s3cret             -> mayfly-server --requirepass s3cret
#   docker run mayfly /etc/mayfly/mayfly.conf --hz 20  -> mayfly-server /etc/mayfly/mayfly.conf --hz 20
#   docker run mayfly mayfly-server [config] [opts]    -> as given
#   docker run -it mayfly bash                         -> any other command runs as is
# When started as root it makes /data belong to the mayfly user and drops root (setpriv,
# the util-linux counterpart of the redis image's gosu step) before starting the server.
#
# For mayfly-server it adds, before the user's own options (so that those win):
#   --bind $MAYFLY_BIND (default "0.0.0.0 -::") unless the config file sets bind
#   --protected-mode no                    unless the config file sets protected-mode
#   --requirepass <password>               if MAYFLY_PASSWORD or MAYFLY_PASSWORD_FILE is set
set -e

# No command at all (an empty CMD): the server.
[ $# -gt 0 ] || set -- mayfly-server

# First argument is an option (`-x`, `--port`) or a config file: run the server with them.
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
    set -- mayfly-server "$@"
fi

# Started as root: own the data directory, then re-run this script as the mayfly user.
# (`docker run --user ...` skips this; the data directory must then be writable already.)
if [ "$1" = 'mayfly-server' ] && [ "$(id -u)" = '0' ]; then
    find . \! -user mayfly -exec chown mayfly:mayfly '{}' +
    exec setpriv --reuid=mayfly --regid=mayfly --init-groups "$0" "$@"
fi

if [ "$1" = 'mayfly-server' ]; then
    shift
    config=
    if [ $# -gt 0 ] && [ "${1#-}" = "$1" ] && [ -f "$1" ]; then
        config=$1
        shift
    fi
    # Options added by the image go first, so any the user passes override them.
    extra=
    set_in_config() { [ -n "$config" ] && grep -Eqi "^[[:space:]]*$1[[:space:]]" "$config"; }
    if ! set_in_config protected-mode; then
        # Inside a container clients never come from loopback, and protected mode would
        # refuse them all when no password is set; the redis image does the same.
        extra="--protected-mode no"
    fi
    if ! set_in_config bind; then
        extra="$extra --bind ${MAYFLY_BIND:-0.0.0.0 -::}"
    fi
    if [ -n "${MAYFLY_PASSWORD_FILE:-}" ]; then
        MAYFLY_PASSWORD=$(cat "$MAYFLY_PASSWORD_FILE")
    fi
    if [ -n "${MAYFLY_PASSWORD:-}" ]; then
        set -- --requirepass "$MAYFLY_PASSWORD" "$@"
    fi
    # shellcheck disable=SC2086 # $extra and MAYFLY_BIND are word lists on purpose
    set -- mayfly-server ${config:+"$config"} $extra "$@"
    unset MAYFLY_PASSWORD
fi

exec "$@"
