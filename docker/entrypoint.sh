#!/bin/sh
# coopledger container entrypoint: create the co-op's home on first start, then run
# the command (by default `coop node start …`, see the Dockerfile and docker-compose.yml).
#
#   COOP_HOME             the home; must lie *inside* the volume, not be its mount point:
#                         `coop init` builds the home in a sibling directory and renames
#                         it into place, which cannot replace a mount point
#   COOP_NAME             the co-op's name, used only by that first `coop init`
#   COOP_PASSPHRASE_FILE  optional: seal the new key with this file's passphrase
#                         (`coop init` and the daemon both read this variable)
set -eu

if [ -z "${COOP_HOME:-}" ]; then
    echo "coop-entrypoint: COOP_HOME is not set" >&2
    exit 64
fi

if [ ! -f "$COOP_HOME/coop.toml" ]; then
    if [ -z "${COOP_NAME:-}" ]; then
        echo "coop-entrypoint: no home at $COOP_HOME yet, and COOP_NAME is not set" \
             "(the co-op's name is needed to create it)" >&2
        exit 64
    fi
    echo "coop-entrypoint: creating the home of \"$COOP_NAME\" in $COOP_HOME" >&2
    # coop init refuses a directory that is not empty (a home without coop.toml is
    # damaged or foreign): it exits non-zero, set -e stops here, and nothing is lost.
    coop init --home "$COOP_HOME" --name "$COOP_NAME"
fi

exec "$@"
