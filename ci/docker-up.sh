#!/usr/bin/env bash
# Brings up a Docker engine for the container tier: installs docker.io
# where the docker command is absent, starts dockerd in the background
# when no engine answers, and waits for it, 60 s at most. Runs as root.
set -euo pipefail
if ! command -v docker >/dev/null 2>&1; then
  echo "docker-up.sh: installing docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi
if docker info >/dev/null 2>&1; then
  exit 0
fi
# A dockerd that is still starting or stopping (its API goes first): give
# it 30 s to do either.
for _ in $(seq 1 30); do
  pgrep -x dockerd >/dev/null 2>&1 || break
  if docker info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 1
done
if pgrep -x dockerd >/dev/null 2>&1; then
  echo "docker-up.sh: a dockerd runs and does not answer after 30 s: stop it (pkill dockerd) or fix it" >&2
  exit 1
fi
# A pid file left by a dockerd that died makes a new one refuse to start.
pidfile=/var/run/docker.pid
if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  rm -f "$pidfile"
fi
echo "docker-up.sh: no engine answers; starting dockerd"
log=${DOCKERD_LOG:-/tmp/dockerd.log}
(setsid dockerd >"$log" 2>&1 &)
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "docker-up.sh: dockerd answers"
    exit 0
  fi
  sleep 1
done
echo "docker-up.sh: dockerd did not answer within 60 s; the end of its log ($log):" >&2
tail -n 30 "$log" >&2 || true
exit 1
