# ev-observer in a container. With no arguments it runs the replay demo on :9464 forever;
# `docker run ... ev-observer poll --config /etc/ev-observer/config.yaml` polls live cars.
# The Deno version is pinned to the one the project is tested with (deno.json, .ci/run).
FROM denoland/deno:debian-2.9.6

# /data holds tokens and scheduler state (a volume); the app itself stays read-only to the
# process, which runs as the image's unprivileged `deno` user (uid 1993) and may write only
# its state_dir (/data).
RUN mkdir -p /data /etc/ev-observer && chown deno:deno /data
# Mosquitto: the demo's streamed days (BMW, Tesla Fleet Telemetry) play through a broker that
# replay starts on loopback.
RUN apt-get update && apt-get install -y --no-install-recommends mosquitto \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app

# Dependencies first, so a code change does not download them again. The lock is frozen:
# a dependency that does not match deno.lock fails the build instead of drifting.
COPY deno.json deno.lock ./
USER deno
RUN deno install --frozen
COPY --chown=root:root . .
RUN deno cache --frozen scripts/main.ts scripts/healthcheck.ts

ENV EV_OBSERVER_LISTEN=0.0.0.0:9464 \
    EV_OBSERVER_STATE_DIR=/data \
    DENO_NO_UPDATE_CHECK=1 \
    NO_COLOR=1
VOLUME ["/data"]
EXPOSE 9464

# No curl in the image: a tiny Deno script asks /healthz on loopback.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["deno", "run", "--cached-only", "--allow-net=127.0.0.1,[::1]", "--allow-env=EV_OBSERVER_LISTEN", "scripts/healthcheck.ts"]

# tini (shipped in the base image) is PID 1 and forwards SIGTERM to Deno, which passes it to the
# command (its handler flushes OTLP and closes the server: a graceful `docker stop`). Exec form:
# no shell between. Like `deno task ev-observer`, this process may only start Deno: each command
# runs in a child allowed what its config needs (the hosts it reaches, its files), no more.
ENTRYPOINT ["/tini", "--", "deno", "run", "--cached-only", "--no-prompt", "--allow-run=deno", "scripts/main.ts"]
CMD ["replay", "--loop"]
