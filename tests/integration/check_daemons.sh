#!/usr/bin/env bash
# The integration tests' final check (ctest fixture caselink_daemons, cleanup): fails when any
# caselink daemon whose command line names the tests' scratch folder ($CASELINK_TMP) is still
# running — a test that left one behind, even after its own timeout — and ends those daemons.
set -euo pipefail
tmp=${CASELINK_TMP:?}
# shellcheck source=../../scripts/lib/federation.sh
source "${CASELINK_SRC:?}/scripts/lib/federation.sh"
left=$(fed_leftovers "$tmp/")
if [ -z "$left" ]; then
  echo "ok: no caselink daemon of $tmp is running"
  exit 0
fi
for pid in $left; do
  echo "FAIL: left running: pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-300)" >&2
done
# shellcheck disable=SC2086 # one pid a word
kill -TERM $left 2>/dev/null || true
sleep 2
# shellcheck disable=SC2086
kill -KILL $left 2>/dev/null || true
exit 1
