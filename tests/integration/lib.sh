# shellcheck shell=bash
# The preamble the integration tests share. Source it from a test (after set -euo pipefail):
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# It sets bin and src and loads the federation helpers (scripts/lib/federation.sh); then
#   it_init NAME        a fresh work folder $CASELINK_TMP/NAME.PID; on EXIT, INT or TERM every
#                       daemon of the federation is stopped (fed_stop), then the test fails if
#                       any caselink daemon whose command line names the work folder is still
#                       alive (it is killed). A test's own clean-up goes in a function
#                       it_on_exit, called first (never a trap of its own). With
#                       CASELINK_IT_TIMEOUT=S (set by tests/zz_daemons.cmake below ctest's
#                       TIMEOUT) a watchdog ends the test after S seconds the same way, so that
#                       ctest's SIGKILL (no trap runs) never comes.
#   it_synth ARGS...    caselink synth --out $work/fed ARGS
#   it_setup            fed_setup of $work/fed into $work/run; from, to and as_of: the
#                       generated federation's default period
#   it_federation ARGS  it_synth ARGS, then it_setup
# and for the two-level and case tests it_node_lines, it_start_coordinator, it_regional,
# it_two_level_body and it_unambiguous (below);
#   it_released EXPECTED ANSWER [MIN]  an answer under disclosure control against the ground
#                       truth: every released cell exact, small ones suppressed, and at least MIN
#                       (default 1) cells released (an answer with every cell suppressed fails)
# and fail MESSAGE (exits 1), pass MESSAGE (counts $passed).
# shellcheck disable=SC2034 # bin, src, work, from, to, as_of, passed, behind: the tests' variables

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
  trap it_exit EXIT
  trap 'exit 143' TERM
  trap 'exit 130' INT
  it_watchdog
}

# The EXIT trap of it_init: the test's clean-up, fed_stop, the leftover check.
it_exit() {
  local rc=$? left
  trap - EXIT TERM INT
  [ -z "${it_wd:-}" ] || kill -TERM "$it_wd" 2>/dev/null || true
  if declare -F it_on_exit >/dev/null; then it_on_exit >/dev/null 2>&1 || true; fi
  fed_stop >/dev/null 2>&1 || true
  [ ! -s "$work/.watchdog" ] || { cat "$work/.watchdog" >&2; rc=1; }
  left=$(fed_leftovers "$work/" | paste -sd' ' -)
  if [ -n "$left" ]; then
    echo "FAIL: caselink daemons of $work still running after the test: pids $left" >&2
    # shellcheck disable=SC2086 # one pid a word
    kill -KILL $left 2>/dev/null || true
    rc=1
  fi
  exit "$rc"
}

# After CASELINK_IT_TIMEOUT seconds: every process naming the work folder is ended (so that a
# blocked foreground command returns), then the test itself (TERM: it_exit runs).
it_watchdog() {
  local secs=${CASELINK_IT_TIMEOUT:-0} main=$$
  it_wd=
  [ "$secs" -gt 0 ] 2>/dev/null || return 0
  (
    sleep "$secs" &
    s=$!
    trap 'kill -TERM $s 2>/dev/null; exit 0' TERM
    wait "$s"
    echo "FAIL: watchdog: the test ran longer than $secs s (CASELINK_IT_TIMEOUT)" >"$work/.watchdog"
    for p in /proc/[0-9]*; do
      q=${p#/proc/}
      [ "$q" = "$BASHPID" ] || [ "$q" = "$main" ] && continue
      case $(tr '\0' ' ' 2>/dev/null <"$p/cmdline") in
        *"$work/"*) kill -KILL "$q" 2>/dev/null || true ;;
      esac
    done
    kill -TERM "$main" 2>/dev/null
  ) </dev/null >/dev/null 2>&1 &
  it_wd=$!
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
# every other cell of the truth is marked suppressed ("suppressed (reason)"), and so is every
# count of 1..4.
it_released() { # EXPECTED ANSWER [MIN] (CSV lines, the value last; MIN released cells, default 1)
  awk -F, -v min="${3:-1}" 'NR == FNR { k = $0; sub(/,[^,]*$/, "", k); a[k] = $NF; next }
    { k = $0; sub(/,[^,]*$/, "", k); seen[k] = 1; n++
      if (!(k in a)) { print "missing: " $0; bad = 1 }
      else if (a[k] !~ /^suppressed/ && a[k] != $NF) { print "differs: " $0 " vs " a[k]; bad = 1 }
      else if ($NF + 0 >= 1 && $NF + 0 < 5 && a[k] !~ /^suppressed/) { print "small: " $0; bad = 1 }
      else if (a[k] !~ /^suppressed/) released++ }
    END { for (k in a) if (!(k in seen) && a[k] + 0 != 0) { print "extra: " k; bad = 1 }
          if (released + 0 < min) {
            print "released: " released + 0 " of " n + 0 " cells, at least " min " expected"; bad = 1 }
          exit bad }' "$2" "$1"
}

# The bytes waiting unread in the TCP sockets of local port PORT (a stopped daemon's: what was
# sent to it since it stopped), from /proc/net/tcp and tcp6.
it_unread() { # PORT
  awk -v p="$(printf '%04X' "$1")" '
    function hex(s, i, v) { v = 0; s = toupper(s)
      for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789ABCDEF", substr(s, i, 1)) - 1
      return v }
    FNR > 1 { split($2, l, ":"); split($5, q, ":"); if (l[2] == p && $4 == "01") n += hex(q[2]) }
    END { print n + 0 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Waits (10 s at most) until more than BEFORE bytes wait unread at local port PORT: a request
# reached the stopped daemon listening there. Fails otherwise.
it_wait_unread() { # PORT BEFORE
  local i
  for i in $(seq 200); do
    [ "$(it_unread "$1")" -gt "$2" ] && return 0
    sleep 0.05
  done
  fail "no request reached port $1 within 10 s"
}

# ---- two-level federations and case checks (test_two_level, test_two_level_cases, test_cases)

# One coordinator configuration line per node of federation.csv whose id is given.
it_node_lines() {
  local id type municipality country want
  while IFS=, read -r id type municipality country; do
    [ "$id" = "agency_id" ] && continue
    municipality=${municipality%\"}; municipality=${municipality#\"}
    for want in "$@"; do
      [ "$want" = "$id" ] || continue
      echo "  - {id: $id, agency_type: $type, municipality: \"$municipality\", country: $country, address: $(cat "$FED_WORK/run/$id.addr")}"
    done
  done < "$work/fed/federation.csv"
}

# NAME CERT LISTEN CONFIG-BODY: a coordinator daemon (the federation policy when there is one)
# with its pid in run/NAME.pid; sets FED_ADDR. Call it in the test's shell, not in $(...).
it_start_coordinator() {
  local name=$1 cert=$2
  {
    echo "# caselink coordinator $name (tests/integration)"
    echo "listen: $3"
    echo "tls: {ca: pki/ca.pem, cert: pki/$cert.pem, key: pki/$cert.key, crl: pki/crl.pem}"
    if [ -f "$FED_WORK/federation-policy.yaml" ]; then echo "policy: federation-policy.yaml"; fi
    echo "deadline_ms: $FED_DEADLINE_MS"
    echo "$4"
  } >"$FED_WORK/$name.yaml"
  fed_daemon "$name" "$bin/caselink-coordinator" serve --data "$FED_WORK/$name" \
      --config "$FED_WORK/$name.yaml"
}

# REGIONAL: the regional coordinator's nodes, Liepāja's agencies, in the array `behind`; its
# certificate; each of those nodes accepts it as a coordinator too. After it_setup.
it_regional() {
  local id
  mapfile -t behind < <(awk -F, 'NR > 1 && $1 ~ /^lv-liepaja-/ { print $1 }' "$work/fed/federation.csv")
  [ "${#behind[@]}" -ge 2 ] || fail "the generated federation has no Liepāja agencies"
  "$bin/caselink" pki issue --ca "$FED_PKI" --name "$1" --role coordinator \
      --out "$FED_PKI" --loopback >/dev/null
  for id in "${behind[@]}"; do
    sed -i "s/^coordinators: \[coordinator\]$/coordinators: [coordinator, $1]/" \
        "$FED_WORK/nodes/$id/node.yaml"
    grep -q "$1" "$FED_WORK/nodes/$id/node.yaml" || fail "cannot add $1 to $id"
  done
}

# REGIONAL ADDRESS: the two-level national's `nodes:` body, the regional in the place of the
# nodes behind it, every other node direct, in federation.csv order.
it_two_level_body() {
  local id seen=0 body="nodes:"
  while IFS=, read -r id _; do
    [ "$id" = "agency_id" ] && continue
    if [[ " ${behind[*]} " == *" $id "* ]]; then
      [ $seen = 1 ] && continue
      seen=1
      body+=$'\n'"  - {id: $1, kind: coordinator, address: $2}"
    else
      body+=$'\n'"$(it_node_lines "$id")"
    fi
  done < "$work/fed/federation.csv"
  echo "$body"
}

# ROWS-FILE: the records of persons whose rows all carry one and the same personal code
# (unambiguous linkage) as "agency,ref" lines in ROWS-FILE; prints their general M7 requests
# of the ground truth as "agency ref status events" lines.
it_unambiguous() {
  python3 - "$work/fed" "$1" <<'PY'
import csv, sys, collections
d = sys.argv[1]
code = {}
for row in csv.DictReader(open(d + "/federation.csv")):
    for p in csv.DictReader(open(f"{d}/agencies/{row['agency_id']}/persons.csv")):
        code[(row["agency_id"], p["person_ref"])] = (p["id_country"],
            p["national_id"].replace("-", "").replace(" ", ""))
rows = collections.defaultdict(list)
for l in csv.DictReader(open(d + "/truth/links.csv")):
    rows[l["true_person_id"]].append((l["agency_id"], l["person_ref"]))
holders = collections.Counter()
for t, rs in rows.items():
    for r in rs:
        holders[code[r]] += 1
ok = set()
for t, rs in rows.items():
    cs = {code[r] for r in rs}
    c = next(iter(cs))
    if len(rs) >= 2 and len(cs) == 1 and c[1] and holders[c] == len(rs):
        ok.update(rs)
with open(sys.argv[2], "w") as f:
    for a, r in sorted(ok):
        print(f"{a},{r}", file=f)
for q in csv.DictReader(open(d + "/truth/expected/m7_requests.csv")):
    if q["legal_basis"] == "general" and (q["requester_agency"], q["requester_ref"]) in ok:
        print(q["requester_agency"], q["requester_ref"], q["status"], q["events"])
PY
}
