#!/usr/bin/env bash
# Replay after a restart (issue 12, section 2): a generated federation on loopback as real
# processes. tests/it_request builds one signed request and keeps its bytes, as an attacker who
# recorded it would; the same bytes are sent to the coordinator, to a node (as the coordinator
# forwards it, envelope signed) and to the keyholder (a node's BlindEvaluate): answered once,
# refused as a replay at once, and still refused after that party was stopped and started
# again (each party's replay cache is persisted in DATA/replay.db). Then a corrupt replay
# cache: the coordinator refuses to start, with an error naming the file; the file restored,
# it starts and still refuses the replay. Each step prints ok or FAIL; the first FAIL ends it.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init replay
tool=${CASELINK_IT_TOOLS:?}/it_request
[ -x "$tool" ] || fail "$tool is not built"

FED_COMPUTE=1 # the computing parties too
it_federation --seed 12 --persons 300
fed_start
fed_start_keyholder
node=${FED_IDS[0]}

send() { # AS METHOD TARGET FILE: the party's answer line; status 0 answered, 1 refused
  "$tool" send "$FED_PKI" "$1" "$2" "$3" "$4"
}
# NAME AS METHOD TARGET FILE: answered the first time, refused as a replay the second.
first_and_replay() {
  local out
  out=$(send "$2" "$3" "$4" "$5") || fail "$1: the first request was refused: $out"
  first=$out
  if out=$(send "$2" "$3" "$4" "$5"); then fail "$1: the replay was answered: $out"; fi
  [[ $out == *"message=replayed request"* ]] || fail "$1: the replay refused, but not as one: $out"
}
# NAME AS METHOD TARGET FILE: after the restart the replay is still refused as one.
after_restart() {
  local out
  if out=$(send "$2" "$3" "$4" "$5"); then
    fail "$1: the replay after the restart was answered: $out"
  fi
  [[ $out == *"code=9 message=replayed request"* ]] \
    || fail "$1: the replay after the restart refused, but not as one: $out"
  pass "$1: answered once ($first), replay refused before and after its restart ($out)"
}
node_addr() { fed_wait_ready "$FED_WORK/run/$node.addr" "$(cat "$FED_WORK/run/$node.pid")"; }

# ---- the coordinator ------------------------------------------------------------------------
"$tool" query "$FED_PKI" national "$from" "$to" "$work/query.bin"
first_and_replay coordinator national coordinator "$FED_COORD" "$work/query.bin"
[[ $first == *"rows=0"* ]] && fail "coordinator: the first answer has no rows: $first"
[ -s "$FED_WORK/coordinator/replay.db" ] || fail "coordinator: no replay cache in its data folder"
fed_restart_coordinator
after_restart coordinator national coordinator "$FED_COORD" "$work/query.bin"

# ---- a node (the envelope as the coordinator forwards it) -----------------------------------
"$tool" envelope "$FED_PKI" national coordinator "$from" "$to" "$work/envelope.bin"
first_and_replay "node $node" coordinator node "$(node_addr)" "$work/envelope.bin"
kill -KILL "$(cat "$FED_WORK/run/$node.pid")" # a crash, not a clean stop
fed_stop_one "$node"
fed_start_node "$node"
after_restart "node $node" coordinator node "$(node_addr)" "$work/envelope.bin"

# ---- the keyholder (a node's BlindEvaluate) -------------------------------------------------
"$tool" blind "$FED_PKI" "$node" "$work/blind.bin"
first_and_replay keyholder "$node" keyholder "$FED_KEYHOLDER" "$work/blind.bin"
fed_start_keyholder # stops it, starts it again
after_restart keyholder "$node" keyholder "$FED_KEYHOLDER" "$work/blind.bin"

# ---- a computing party (the coordinator's Compute.Start) ---------------------------------
# The demonstration job waits for parties that never come, so the first Start fails after its
# timeout; its request id is recorded all the same, and a replay is refused before and after
# the party's restart.
"$tool" start coordinator 1 "$work/start.bin"
first=$(send coordinator compute "${FED_COMPUTE_ADDR[1]}" "$work/start.bin" || true)
[[ $first == *"message=replayed request"* ]] && fail "cp-1: the first Start was refused as a replay"
out=$(send coordinator compute "${FED_COMPUTE_ADDR[1]}" "$work/start.bin") \
  && fail "cp-1: the replayed Start was answered: $out"
[[ $out == *"message=replayed request"* ]] || fail "cp-1: the replay refused, but not as one: $out"
[ -s "$FED_WORK/cp-1/replay.db" ] || fail "cp-1: no replay cache in its data folder"
fed_stop_one cp-1
fed_daemon cp-1 "$bin/caselink-compute" serve --data "$FED_WORK/cp-1" --config "$FED_WORK/cp-1.yaml"
after_restart "computing party 1" coordinator compute "${FED_COMPUTE_ADDR[1]}" "$work/start.bin"

# ---- a corrupt replay cache: the coordinator does not start without replay protection -------
cdata=$FED_WORK/coordinator
fed_stop_one coordinator
mkdir -p "$work/saved"
mv "$cdata"/replay.db* "$work/saved/"
head -c 8192 /dev/urandom >"$cdata/replay.db"
set +e
timeout 30 "$bin/caselink-coordinator" serve --data "$cdata" --config "$FED_WORK/coordinator.yaml" \
    --foreground --ready-file "$work/corrupt.addr" </dev/null >/dev/null 2>"$work/corrupt.err"
rc=$?
set -e
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "a coordinator with a corrupt replay cache: exit $rc"
[ ! -s "$work/corrupt.addr" ] || fail "a coordinator with a corrupt replay cache became ready"
grep -q "replay cache $cdata/replay.db: corrupt or not a replay cache" "$work/corrupt.err" \
  || fail "corrupt replay cache: unclear error: $(cat "$work/corrupt.err")"
grep -q "refusing to serve without replay protection" "$work/corrupt.err" \
  || fail "corrupt replay cache: the error does not say the party refuses: $(cat "$work/corrupt.err")"
pass "corrupt replay cache: the coordinator does not start (exit $rc): $(head -n 1 "$work/corrupt.err" | sed "s|$cdata/||")"
rm -f "$cdata"/replay.db*
mv "$work/saved/"replay.db* "$cdata/"
fed_start_coordinator
first="before the corruption"
after_restart "coordinator (cache restored)" national coordinator "$FED_COORD" "$work/query.bin"

echo "$passed passed, 0 failed"
