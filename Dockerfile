# Mayfly container image. Build:  docker build -t mayfly .
# Run:  docker run -d -p 6379:6379 -v mayfly-data:/data mayfly   (see docs/docker.md)
#
# BASE_IMAGE lets an offline build use a locally imported Debian 12 root file system
# (tests/docker/run.sh does that); both stages must use the same Debian release, since
# the binary built in the first links the libraries installed in the second.
ARG BASE_IMAGE=debian:bookworm-slim

# ---- build stage: compilers and -dev packages, thrown away afterwards ----
FROM ${BASE_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        cmake make gcc libc6-dev pkg-config \
        libuv1-dev libjemalloc-dev libxxhash-dev liblua5.1-0-dev lua-cjson-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMAYFLY_TESTS=OFF \
 && cmake --build build --target mayfly-server -j "$(nproc)" \
 && strip build/mayfly-server

# ---- run stage: only the runtime libraries ----
FROM ${BASE_IMAGE}
# Fixed ids (as the redis image's 999) so volumes keep the same owner across rebuilds.
RUN groupadd --system --gid 999 mayfly \
 && useradd --system --uid 999 --gid mayfly --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin mayfly
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libuv1 libjemalloc2 libxxhash0 liblua5.1-0 lua-cjson \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt/* /var/log/dpkg.log
COPY --from=build /src/build/mayfly-server /usr/local/bin/mayfly-server
COPY docker/docker-entrypoint.sh docker/docker-healthcheck /usr/local/bin/
COPY docker/mayfly.conf /etc/mayfly/mayfly.conf
# Fail the build here, not at `docker run`, if a runtime library is missing.
RUN ! ldd /usr/local/bin/mayfly-server | grep 'not found' \
 && mkdir -p /data && chown mayfly:mayfly /data && chmod 0750 /data

VOLUME /data
WORKDIR /data
EXPOSE 6379
# The server is PID 1 (the entrypoint execs it) and shuts down cleanly on SIGTERM.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["docker-healthcheck"]
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["mayfly-server"]
