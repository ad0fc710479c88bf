#!/bin/sh
# caselink container entrypoint, the same in the node, coordinator, keyholder and compute images
# (CASELINK_PARTY says which).
#
#   serve (default)  first start: create the party's state under CASELINK_DATA (node:
#                    `caselink-node init` from CASELINK_ID, CASELINK_AGENCY_TYPE,
#                    CASELINK_MUNICIPALITY, CASELINK_COUNTRY, then, when CASELINK_IMPORT_DIR
#                    is set, one import of its persons.csv and events.csv; on every start
#                    `caselink-node tokens` (the token cache, incremental); keyholder:
#                    `caselink-keyholder init`; compute: `caselink-compute init`, its audit
#                    log); then serve in the foreground with
#                    CASELINK_CONFIG. Logs go to stderr (the container log).
#   anything else    run as given, e.g. `caselink-node import --data /var/lib/caselink/node
#                    --events /import/events.csv` or `caselink-keyholder status --data ...`.
set -eu

if [ "$#" -gt 0 ] && [ "$1" != serve ]; then
  exec "$@"
fi
party=${CASELINK_PARTY:?CASELINK_PARTY is not set}
data=${CASELINK_DATA:?CASELINK_DATA is not set}
config=${CASELINK_CONFIG:?CASELINK_CONFIG is not set}
# CASELINK_READY_FILE (optional): the daemon writes HOST:PORT there once it serves.
set --
if [ -n "${CASELINK_READY_FILE:-}" ]; then
  set -- --ready-file "$CASELINK_READY_FILE"
fi

case "$party" in
  node)
    if [ ! -f "$data/node.db" ]; then
      caselink-node init --data "$data" --agency "${CASELINK_ID:?}" \
        --type "${CASELINK_AGENCY_TYPE:?}" --municipality "${CASELINK_MUNICIPALITY:?}" \
        --country "${CASELINK_COUNTRY:?}"
    fi
    # One import per store: the marker is written only after a complete import
    # (an import either lands whole or not at all, so a failed one is tried again).
    if [ -n "${CASELINK_IMPORT_DIR:-}" ] && [ ! -f "$data/import.done" ]; then
      caselink-node import --data "$data" --persons "$CASELINK_IMPORT_DIR/persons.csv" \
        --events "$CASELINK_IMPORT_DIR/events.csv"
      : >"$data/import.done"
    fi
    # The token cache (linked queries, docs/privacy.md) on every start: incremental, so
    # only persons changed since the last fill (or all after a key rotation) are sent to
    # the keyholder. The keyholder may still be starting: a few tries, then serve anyway
    # (aggregates work; a linked query answers "token cache not filled").
    tries=${CASELINK_TOKENS_TRIES:-20}
    until caselink-node tokens --data "$data" --config "$config"; do
      tries=$((tries - 1))
      if [ "$tries" -le 0 ]; then
        echo "caselink-entrypoint: token cache not filled (keyholder unreachable?)" >&2
        break
      fi
      sleep "${CASELINK_TOKENS_RETRY_S:-3}"
    done
    exec caselink-node serve --data "$data" --config "$config" --foreground "$@"
    ;;
  keyholder)
    if [ ! -f "$data/oprf-keys" ]; then
      caselink-keyholder init --data "$data"
    fi
    exec caselink-keyholder serve --data "$data" --config "$config" --foreground "$@"
    ;;
  compute)
    if [ ! -f "$data/compute.db" ]; then
      caselink-compute init --data "$data"
    fi
    exec caselink-compute serve --data "$data" --config "$config" --foreground "$@"
    ;;
  coordinator)
    exec caselink-coordinator serve --data "$data" --config "$config" --foreground "$@"
    ;;
  *)
    echo "caselink-entrypoint: unknown CASELINK_PARTY '$party'" >&2
    exit 2
    ;;
esac
