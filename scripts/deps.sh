#!/bin/sh
# Installs the Debian packages gaelic needs to build, test and benchmark,
# skipping the apt run entirely when everything is already there.
# Usage: scripts/deps.sh [build|test|bench]   (each level includes the ones before)
set -eu
level=${1:-build}
case "$level" in
    build|test|bench) ;;
    # A typo (`deps.sh tests`) would install only the build level and exit 0.
    *) echo "usage: scripts/deps.sh [build|test|bench] (got '$level')" >&2; exit 2 ;;
esac

pkgs="gcc make pkg-config libpython3.11-dev python3.11 node-llhttp libyaml-dev libpcre2-dev zlib1g-dev"
pkgs="$pkgs libsqlite3-dev libseccomp-dev"
# The runtime's webapp and webapp2 are written on WebOb.
pkgs="$pkgs python3-webob"
case "$level" in
    test|bench) pkgs="$pkgs python3-pytest python3-pytest-xdist python3-requests python3-flask python3-tz python3-ujson python3-numpy python3-django clang libclang-rt-14-dev" ;;
esac
case "$level" in
    bench) pkgs="$pkgs wrk python3-gunicorn uwsgi uwsgi-plugin-python3 nginx-light curl" ;;
esac

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "deps.sh: missing Debian packages:$missing (run as root to install them)" >&2
    exit 1
fi
echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
