# shellcheck shell=bash
# The preamble the integration tests share. Source it from a test (after set -euo pipefail):
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# It sets bin and src and loads the federation helpers (scripts/lib/federation.sh); then
#   it_init NAME        a fresh work folder $CASELINK_TMP/NAME.PID and fed_stop on exit (a test
#                       may set its own EXIT trap afterwards)
#   it_synth ARGS...    caselink synth --out $work/fed ARGS
#   it_setup            fed_setup of $work/fed into $work/run; from, to and as_of: the
#                       generated federation's default period
#   it_federation ARGS  it_synth ARGS, then it_setup
# and fail MESSAGE (exits 1), pass MESSAGE (counts $passed).
# shellcheck disable=SC2034 # bin, src, work, from, to, as_of, passed are the tests' variables

bin=${CASELINK_BIN:?}
src=${CASELINK_SRC:?}
# shellcheck source=../../scripts/lib/federation.sh
source "$src/scripts/lib/federation.sh"

fail() { echo "FAIL: $*" >&2; exit 1; }
passed=0
pass() { echo "ok: $*"; passed=$((passed + 1)); }

it_init() {
  work=${CASELINK_TMP:?}/$1.$$
  rm -rf "$work"
  mkdir -p "$work"
  trap 'fed_stop >/dev/null 2>&1 || true' EXIT
}

it_synth() {
  "$bin/caselink" synth --out "$work/fed" "$@" >/dev/null
}

it_setup() {
  fed_setup "$bin" "$work/fed" "$work/run"
  IFS=, read -r from to as_of < <(tail -n 1 "$work/fed/truth/expected/period.csv")
}

it_federation() {
  it_synth "$@"
  it_setup
}
