#!/bin/sh
# Install the Debian 12 packages the project needs, those that are missing
# only.  Used by `make run`, `make test` and the Dockerfile.  Runs apt-get
# through sudo when not root.
set -eu

PACKAGES="
make gcc pkg-config ca-certificates curl openssl python3
postgresql-15 postgresql-client-15 postgresql-server-dev-15 postgresql-15-cron
libpq-dev libh2o-evloop-dev libjansson-dev libwslay-dev libssl-dev zlib1g-dev
wrk
"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
else
    SUDO="sudo"
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# The postgresql-common hook would create and start a system cluster; the
# project runs its own, so tell it not to.
$SUDO mkdir -p /etc/postgresql-common
if [ ! -f /etc/postgresql-common/createcluster.conf ] || ! grep -q '^create_main_cluster *= *false' /etc/postgresql-common/createcluster.conf; then
    echo 'create_main_cluster = false' | $SUDO tee -a /etc/postgresql-common/createcluster.conf >/dev/null
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
