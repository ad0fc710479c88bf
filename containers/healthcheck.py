#!/usr/bin/python3
"""caselink health check: calls a daemon's Status RPC over mutual TLS.

usage: healthcheck.py SERVICE TARGET SERVER_NAME CA CERT KEY [--strict] [--timeout S]

  SERVICE      node | coordinator | keyholder | compute (the gRPC service to call)
  TARGET       HOST:PORT to dial (in a container: 127.0.0.1:PORT)
  SERVER_NAME  the name the server's certificate must carry (its party id)
  CA CERT KEY  the federation CA and the caller's own certificate and key (PEM)

There is no `caselink status` command yet, so this script uses Debian's
python3-grpcio (gRPC's own Python stack) and encodes the StatusRequest by hand
(no generated code, no protoc at run time).

Exit status (what a container HEALTHCHECK or a Kubernetes exec probe needs):
  0  healthy: the daemon answered Status (prints its identity, version, clock,
     key epoch and readiness); or, without --strict, it completed the mutual-TLS
     handshake and refused the call with PERMISSION_DENIED because the caller's
     role may not ask it (a node answers Status only to the coordinator, the
     keyholder only to nodes and the coordinator): it is serving.
  1  unhealthy: not reachable, handshake failed, deadline, any other refusal,
     an answer with ready = false, or an answer from another party than
     SERVER_NAME.
  2  usage error.
The output never holds anything about a person: party ids and codes only.
"""
import os
import sys
import time

USAGE = "usage: healthcheck.py node|coordinator|keyholder|compute HOST:PORT SERVER_NAME CA CERT KEY " \
        "[--strict] [--timeout S]"
SERVICES = {"node": "Node", "coordinator": "Coordinator", "keyholder": "Keyholder",
            "compute": "Compute"}


def varint(v):
    out = bytearray()
    v &= 0xFFFFFFFFFFFFFFFF
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(num, v):
    return varint(num << 3) + varint(v)


def field_bytes(num, b):
    return varint((num << 3) | 2) + varint(len(b)) + b


def status_request(requester_id, requester_role):
    """StatusRequest{header=RequestHeader{...}} in protobuf wire format."""
    now = int(time.time())
    ident = field_bytes(1, requester_id.encode()) + field_bytes(2, requester_role.encode())
    header = (field_varint(1, 1)                        # schema_version = CURRENT
              + field_bytes(2, os.urandom(16))          # request_id
              + field_bytes(3, b"operations")           # purpose (a code)
              + field_bytes(4, b"health_check")         # legal_basis (a code)
              + field_varint(5, now)                    # issued_at
              + field_varint(6, now + 60)               # expires_at
              + field_bytes(7, ident))                  # requester
    return field_bytes(1, header)


def read_varint(buf, i):
    shift = 0
    v = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def parse(buf):
    """Fields of one message: {number: [value, ...]} (varints as int, others as bytes)."""
    fields = {}
    i = 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(buf, i)
        elif wt == 2:
            n, i = read_varint(buf, i)
            if i + n > len(buf):
                raise ValueError("truncated field")
            v, i = buf[i:i + n], i + n
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("unknown wire type %d" % wt)
        fields.setdefault(num, []).append(v)
    return fields


def cert_identity(pem):
    """(CN, OU) of our own certificate, read with python3-cryptography if present."""
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID
        c = x509.load_pem_x509_certificate(pem)
        cn = c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        ou = c.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value
        return cn, ou
    except Exception:  # noqa: BLE001 - the identity in the header is informative only
        return "health-check", "user"


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    strict = "--strict" in argv
    timeout = 5.0
    if "--timeout" in argv:
        k = argv.index("--timeout")
        try:
            timeout = float(argv[k + 1])
            args.remove(argv[k + 1])
        except (IndexError, ValueError):
            print(USAGE, file=sys.stderr)
            return 2
    if len(args) != 6 or args[0] not in SERVICES or not 0 < timeout <= 60:
        print(USAGE, file=sys.stderr)
        return 2
    service, target, server_name, ca, cert, key = args
    try:
        import grpc
    except ImportError:
        print("healthcheck: python3-grpcio is not installed", file=sys.stderr)
        return 1
    try:
        with open(ca, "rb") as f:
            ca_pem = f.read()
        with open(cert, "rb") as f:
            cert_pem = f.read()
        with open(key, "rb") as f:
            key_pem = f.read()
    except OSError as e:
        print("healthcheck: cannot read %s: %s" % (e.filename, e.strerror), file=sys.stderr)
        return 1
    my_id, my_role = cert_identity(cert_pem)
    creds = grpc.ssl_channel_credentials(root_certificates=ca_pem, private_key=key_pem,
                                         certificate_chain=cert_pem)
    method = "/caselink.v1.%s/Status" % SERVICES[service]
    with grpc.secure_channel(target, creds,
                             options=[("grpc.ssl_target_name_override", server_name)]) as ch:
        call = ch.unary_unary(method, request_serializer=None, response_deserializer=None)
        try:
            resp = call(status_request(my_id, my_role), timeout=timeout)
        except grpc.RpcError as e:
            code = e.code()
            if code == grpc.StatusCode.PERMISSION_DENIED and not strict:
                print("serving: %s %s refused Status to role %s (mutual TLS handshake done)"
                      % (service, server_name, my_role))
                return 0
            print("unhealthy: %s %s at %s: %s %s" % (service, server_name, target, code.name,
                                                     (e.details() or "")[:200]))
            return 1
    try:
        f = parse(resp)
        party = parse(f.get(2, [b""])[0])
        pid = party.get(1, [b""])[0].decode("utf-8", "replace")
        prole = party.get(2, [b""])[0].decode("utf-8", "replace")
        version = f.get(3, [b""])[0].decode("utf-8", "replace")
        now = f.get(4, [0])[0]
        epoch = f.get(5, [0])[0]
        ready = bool(f.get(6, [0])[0])
        schema = f.get(1, [0])[0]
    except (ValueError, UnicodeError, IndexError) as e:
        print("unhealthy: malformed StatusResponse (%s)" % e)
        return 1
    print("status: party=%s role=%s version=%r schema=%d clock_skew=%ds key_epoch=%d ready=%s"
          % (pid, prole, version, schema, now - int(time.time()), epoch, str(ready).lower()))
    if pid != server_name:
        print("unhealthy: answered as %s, expected %s" % (pid, server_name))
        return 1
    return 0 if ready else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
