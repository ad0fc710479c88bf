#!/usr/bin/env bash
# Two caselink-compute daemons (parties 1 and 2) and party 0 (tests/compute_party0.c, built
# from the modules the coordinator links) on loopback over mutual TLS: the demonstration job
# (compute/compute_job.h) runs over the network and opens to x + y computed by party 0 from
# the plain inputs; wrong-role, wrong-name and foreign-CA certificates are refused; a party
# killed, hung, or drained (SIGTERM) mid-computation gives a clear failure naming it; a
# restarted party serves the next computation; every daemon's audit log stays intact.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init compute
FED_WORK=$work
mkdir -p "$work/run" "$work/logs"
p0=$bin/../tests/compute_party0
cs=$bin/caselink-compute
pki=$work/pki

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
issue() { "$bin/caselink" pki issue --ca "${4:-$pki}" --name "$1" --role "$2" --out "$3" --loopback >/dev/null; }

"$bin/caselink" pki init-ca --out "$pki" >/dev/null
issue coordinator coordinator "$pki"
issue cp-1 compute "$pki"
issue cp-2 compute "$pki"
issue node-x node "$pki"        # a federation certificate of the wrong role
issue cp-3 compute "$pki"       # a computing party that is neither of the configured two
"$bin/caselink" pki init-ca --out "$work/foreign" >/dev/null
issue coordinator coordinator "$work/foreign" "$work/foreign" # right name and role, other CA,
mkdir -p "$work/foreign-tls"                    # presented by a party 0 that trusts ours
cp "$pki/ca.pem" "$pki/crl.pem" "$work/foreign/coordinator.pem" "$work/foreign/coordinator.key" \
  "$work/foreign-tls/"

a0=127.0.0.1:$(free_port)
a1=127.0.0.1:$(free_port)
a2=127.0.0.1:$(free_port)

conf() { # PARTY SELF PEER PEER_ADDR LISTEN DRAIN_MS
  cat >"$work/$2.yaml" <<YAML
# caselink-compute party $1 (tests/integration/test_compute.sh)
party: $1
listen: $5
tls: {ca: pki/ca.pem, cert: pki/$2.pem, key: pki/$2.key, crl: pki/crl.pem}
coordinator: {id: coordinator, address: $a0}
peer: {id: $3, address: $4}
timeout_ms: 4000
max_computations: 4
drain_ms: $6
YAML
}
conf 1 cp-1 cp-2 "$a2" "$a1" 300
conf 2 cp-2 cp-1 "$a1" "$a2" 300

start() { fed_daemon "$1" "$cs" serve --data "$work/$1" --config "$work/$1.yaml"; }
# computations a party has started (its audit log), and waiting for one more than N
starts() { sqlite3 "$work/$1/compute.db" "select count(*) from audit_log where action = 'compute_start'" 2>/dev/null || echo 0; }
wait_start() { # PARTY N: then 0.3 s more, so that the rounds are under way
  for _ in $(seq 1 200); do [ "$(starts "$1")" -gt "$2" ] && { sleep 0.3; return 0; }; sleep 0.05; done
  echo "no computation started at $1" >&2
}
run0() { # NAME TLS-DIR [ARGS...]: party 0's outcome line
  local name=$1 dir=$2
  shift 2
  "$p0" --tls-dir "$dir" --name "$name" --listen "$a0" --p1 "cp-1@$a1" --p2 "cp-2@$a2" "$@" 2>>"$work/logs/party0.log" || true
}

# init, and the refusals of init and serve
"$cs" init --data "$work/cp-1" >/dev/null
"$cs" init --data "$work/cp-2" >/dev/null
if "$cs" init --data "$work/cp-1" >/dev/null 2>&1; then fail "init overwrote an audit log"; fi
out=$("$cs" serve --data "$work/none" --config "$work/cp-1.yaml" --foreground 2>&1 || true)
grep -q "run caselink-compute init" <<<"$out" || fail "serve without init: $out"
sed 's/cp-1\.pem/node-x.pem/; s/cp-1\.key/node-x.key/' "$work/cp-1.yaml" >"$work/bad.yaml"
out=$("$cs" serve --data "$work/cp-1" --config "$work/bad.yaml" --foreground 2>&1 || true)
grep -q "needs one issued with --role compute" <<<"$out" || fail "a node certificate served as a computing party: $out"
printf 'party: 3\n' >>"$work/bad.yaml"
rc=0; "$cs" serve --data "$work/cp-1" --config "$work/bad.yaml" --foreground 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "a bad configuration exited $rc, not 2"
pass "init once; serve refuses no audit log, a node certificate, a bad configuration"

start cp-1
start cp-2

# Status over mutual TLS
out=$("$bin/caselink" status --tls-dir "$pki" --name coordinator --target "$a1" --service compute --server-name cp-1 2>&1 || true)
grep -q "party=cp-1 role=compute" <<<"$out" || fail "Status of party 1: $out"
pass "Status: $out"

out=$(run0 coordinator "$pki" --n 5000 --rounds 20)
grep -q "^computation ok" <<<"$out" || fail "the computation: $out"
pass "over the network: $out"

# the engine (compute/mpc_share.h) over the network: x * y + x opened to party 0
out=$(run0 coordinator "$pki" --job mul --n 100000)
grep -q "^computation ok: engine job" <<<"$out" || fail "the engine's job: $out"
pass "engine over the network: $out"

# a larger job, split into several 4 MiB messages every round
out=$(run0 coordinator "$pki" --n 600000 --rounds 2)
grep -q "^computation ok" <<<"$out" || fail "the large computation: $out"
pass "9.6 MB job, 4.8 MB per round and party: $out"

# wrong role at party 0: a node certificate may not start computations
out=$(run0 node-x "$pki" --n 10 --rounds 1 --timeout-ms 2000)
grep -q "computation failed: party [12].*PERMISSION_DENIED" <<<"$out" || fail "node certificate as party 0: $out"
pass "a node certificate as party 0 is refused: $out"

# a computing party certificate where another is expected: refused by name
out=$("$p0" --tls-dir "$pki" --name coordinator --listen "$a0" --p1 "cp-3@$a1" --p2 "cp-2@$a2" --n 10 --rounds 1 --timeout-ms 2000 2>>"$work/logs/party0.log" || true)
grep -q "computation failed: party 1 (cp-3): .*unreachable" <<<"$out" || fail "cp-1 accepted as cp-3: $out"
pass "party 0 refuses a computing party of another name: $out"

# foreign CA: the right name and role, the wrong federation
out=$(run0 coordinator "$work/foreign-tls" --n 10 --rounds 1 --timeout-ms 2000)
grep -q "computation failed: party [12] (cp-[12]): unreachable" <<<"$out" || fail "foreign CA: $out"
pass "a foreign CA's coordinator certificate is refused: $out"

# killed mid-computation: party 2 gets SIGKILL while the rounds run
n0=$(starts cp-2)
(
  wait_start cp-2 "$n0"
  kill -KILL "$(cat "$work/run/cp-2.pid")"
) &
killer=$!
t0=$(date +%s)
out=$(run0 coordinator "$pki" --n 60000 --rounds 1000)
wait "$killer" || true
t1=$(date +%s)
grep -q "computation failed: party 2 (cp-2)" <<<"$out" || fail "party 2 killed: $out"
pass "party 2 killed mid-computation: $out (after $((t1 - t0)) s)"
rm -f "$work/run/cp-2.pid"

# restarted: the next computation runs
start cp-2
out=$(run0 coordinator "$pki" --n 1000 --rounds 5)
grep -q "^computation ok" <<<"$out" || fail "after the restart of party 2: $out"
pass "party 2 restarted serves the next computation"

# hung: party 2 stopped (SIGSTOP) while the rounds run; the per-message deadline names it
n0=$(starts cp-2)
(
  wait_start cp-2 "$n0"
  kill -STOP "$(cat "$work/run/cp-2.pid")"
) &
stopper=$!
out=$(run0 coordinator "$pki" --n 60000 --rounds 1000 --timeout-ms 2000)
wait "$stopper" || true
kill -CONT "$(cat "$work/run/cp-2.pid")"
grep -q "computation failed: party 2 (cp-2)" <<<"$out" || fail "party 2 hung: $out"
pass "party 2 hung mid-computation: $out"

# SIGTERM mid-computation: party 1 drains (300 ms), fails the computation cleanly, exits 0
pid1=$(cat "$work/run/cp-1.pid")
n0=$(starts cp-1)
(
  wait_start cp-1 "$n0"
  kill -TERM "$pid1"
) &
termer=$!
out=$(run0 coordinator "$pki" --n 60000 --rounds 1000)
wait "$termer" || true
rc=0; wait "$pid1" 2>/dev/null || rc=$?
grep -q "computation failed: party 1 (cp-1)" <<<"$out" || fail "party 1 drained: $out"
[ "$rc" = 0 ] || fail "party 1 exited $rc after SIGTERM"
rm -f "$work/run/cp-1.pid"
pass "party 1 on SIGTERM fails the running computation naming itself and exits 0: $out"

# SIGTERM with time to drain: the running computation finishes, a new one is refused, exit 0
sed 's/^drain_ms: 300$/drain_ms: 30000/' "$work/cp-1.yaml" >"$work/cp-1-drain.yaml"
fed_daemon cp-1 "$cs" serve --data "$work/cp-1" --config "$work/cp-1-drain.yaml"
pid1=$(cat "$work/run/cp-1.pid")
n0=$(starts cp-1)
run0 coordinator "$pki" --n 20000 --rounds 1000 >"$work/long.out" &
long=$!
wait_start cp-1 "$n0"
[ "$(starts cp-1)" -gt "$n0" ] || fail "the long computation never started at party 1"
kill -TERM "$pid1"
sleep 0.2
out=$("$p0" --tls-dir "$pki" --name coordinator --listen 127.0.0.1:0 --p1 "cp-1@$a1" \
  --p2 "cp-2@$a2" --n 10 --rounds 1 --timeout-ms 2000 2>>"$work/logs/party0.log" || true)
grep -q "computation failed: party 1 (cp-1): shutting down, no new computation" <<<"$out" ||
  fail "a computation started while party 1 drains: $out"
wait "$long" || true
grep -q "^computation ok" "$work/long.out" || fail "the computation running at SIGTERM: $(cat "$work/long.out")"
rc=0; wait "$pid1" 2>/dev/null || rc=$?
[ "$rc" = 0 ] || fail "party 1 exited $rc after draining"
rm -f "$work/run/cp-1.pid"
pass "party 1 on SIGTERM finishes the running computation, refuses a new one ($out), exits 0"

fed_stop
for p in cp-1 cp-2; do
  out=$("$cs" audit verify --data "$work/$p")
  grep -q "audit log intact" <<<"$out" || fail "$p audit: $out"
done
command -v sqlite3 >/dev/null || fail "sqlite3 missing (scripts/deps installs it)"
n=$(sqlite3 "$work/cp-1/compute.db" "select count(*) from audit_log where action = 'compute_done'")
[ "$n" -ge 4 ] || fail "party 1 audited $n finished computations, not at least 4"
m=$(sqlite3 "$work/cp-1/compute.db" "select count(*) from audit_log where action = 'compute_failed'")
[ "$m" -ge 3 ] || fail "party 1 audited $m failed computations, not at least 3"
# what the audit holds: coded key=value fields only, never a value or a share
sqlite3 "$work/cp-1/compute.db" "select details from audit_log" >"$work/details.txt"
sqlite3 "$work/cp-2/compute.db" "select details from audit_log" >>"$work/details.txt"
bad=$(tr ' ' '\n' <"$work/details.txt" | grep -v -E '^(computation|query|measure|period|job_bytes|party|outcome|output_bytes|bytes_sent|messages_sent|ms|error|code|reason|signal|computations_done|computations_failed|coordinator|peer|file)=' || true)
[ -z "$bad" ] || fail "audit details beyond the coded fields: $(head -3 <<<"$bad")"
pass "both audit logs intact, $n computations done and $m failed at party 1, coded fields only ($("$cs" status --data "$work/cp-1" | head -1))"
echo "$passed passed, 0 failed"
