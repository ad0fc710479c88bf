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
#   it_released EXPECTED ANSWER  an answer under disclosure control against the ground truth
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

# Disclosure control (docs/disclosure.md): the answer equals the truth in every published cell;
# every other cell of the truth is marked suppressed, and so is every count of 1..4.
it_released() { # EXPECTED ANSWER (CSV lines, the value last)
  awk -F, 'NR == FNR { k = $0; sub(/,[^,]*$/, "", k); a[k] = $NF; next }
    { k = $0; sub(/,[^,]*$/, "", k); seen[k] = 1
      if (!(k in a)) { print "missing: " $0; bad = 1 }
      else if (a[k] != "suppressed" && a[k] != $NF) { print "differs: " $0 " vs " a[k]; bad = 1 }
      else if ($NF + 0 >= 1 && $NF + 0 < 5 && a[k] != "suppressed") { print "small: " $0; bad = 1 } }
    END { for (k in a) if (!(k in seen) && a[k] + 0 != 0) { print "extra: " k; bad = 1 }
          exit bad }' "$2" "$1"
}
