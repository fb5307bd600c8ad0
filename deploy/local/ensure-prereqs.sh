#!/usr/bin/env bash
# Installs, when missing, what the native local stack and the workspace need on a Debian machine:
# uv (pip), a Java 17+ runtime and Maven (Kafka from Maven Central), the PostgreSQL server.
# Fast no-op when everything is there. Used by `make setup` and .ci/run.
set -euo pipefail

UV_VERSION="${UV_VERSION:-0.13.8}"
packages=()

java_major() {
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1
}
if ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt 17 ] 2>/dev/null; then
  packages+=(default-jre-headless)   # 17 on Debian 12, 21 on Debian 13: Kafka 4 needs >= 17
fi
command -v mvn >/dev/null 2>&1 || packages+=(maven)
if ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null && [ -z "${ARSHIELD_STACK_PG_BIN_DIR:-}" ]; then
  packages+=(postgresql)             # also creates the `postgres` OS user the server runs as
fi

if [ "${#packages[@]}" -gt 0 ]; then
  echo "ensure-prereqs: installing ${packages[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "need root to apt-get install ${packages[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
fi

if ! command -v uv >/dev/null 2>&1 && ! python3 -m uv --version >/dev/null 2>&1; then
  echo "ensure-prereqs: installing uv==${UV_VERSION}" >&2
  python3 -m pip install -q "uv==${UV_VERSION}"
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
fi
