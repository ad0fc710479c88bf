#!/bin/sh
# Container health check (Dockerfile HEALTHCHECK, Kubernetes exec probes): calls the
# party's Status RPC on its own port over mutual TLS with its own certificate, using
# healthcheck.py (python3-grpcio). Exit 0 healthy, 1 unhealthy. A node and the keyholder
# refuse Status to their own role, which proves that they serve (see healthcheck.py);
# pass --strict to require a full Status answer (from a peer allowed to ask).
set -eu
tls=${CASELINK_TLS:-/etc/caselink/tls}
script=${CASELINK_HEALTHCHECK_PY:-/usr/local/lib/caselink/healthcheck.py}
exec /usr/bin/python3 "$script" "${CASELINK_PARTY:?}" \
  "127.0.0.1:${CASELINK_PORT:?}" "${CASELINK_ID:?}" \
  "$tls/ca.pem" "$tls/cert.pem" "$tls/key.pem" --timeout 5 "$@"
