#!/usr/bin/python3
"""Offline checks of containers/ (no container engine, no cluster): run by validate.sh.

usage: validate.py SRC_DIR [BIN_DIR]

  dockerfiles  every image: build stage on debian:bookworm, identical in all Dockerfiles,
               installing scripts/deps; runtime on debian:bookworm-slim, no ADD, no
               :latest, every COPY source present, non-root USER, exec-form ENTRYPOINT;
               the parties' images have a HEALTHCHECK; with BIN_DIR, every shared
               library the built binary needs comes from a package the runtime stage
               installs (or one of their dependencies).
  compose      every party is non-root-capable, read-only, capability-free, its TLS volume
               read-only, on the networks its role allows; ids, configs, certificates and
               the coordinator's and keyholder's node lists agree; the two computing
               parties (parties 1 and 2) name each other and the coordinator, which names
               them in its compute: section, and share a network with nothing else.
  k8s          every document against the Kubernetes API models of Debian's
               python3-kubernetes (unknown fields, types, required fields); workloads are
               non-root, read-only, with a PersistentVolumeClaim, Secret TLS and ConfigMap
               configuration; and the NetworkPolicies, evaluated, allow exactly the
               expected connections.
Prints one line per failed check and exits 1 if any failed.
"""
import glob
import os
import re
import subprocess
import sys

import yaml

SRC = sys.argv[1] if len(sys.argv) > 1 else "."
BIN = sys.argv[2] if len(sys.argv) > 2 else None
CT = os.path.join(SRC, "containers")
PARTIES = ("node", "coordinator", "keyholder", "compute")
PORTS = {"node": 7101, "coordinator": 7200, "keyholder": 7000, "compute": 7301}
BINARY = {"node": "caselink-node", "coordinator": "caselink-coordinator",
          "keyholder": "caselink-keyholder", "compute": "caselink-compute", "tools": "caselink"}
errors = []
checks = 0


def check(ok, what):
    global checks
    checks += 1
    if not ok:
        errors.append(what)
    return ok


# ---------------------------------------------------------------- Dockerfiles

def stages(text):
    """[(from_line, [instruction lines])] with continuations joined, comments dropped."""
    lines, cur = [], ""
    for raw in text.splitlines():
        s = raw.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        cur += " " + s[:-1] if s.endswith("\\") else " " + s
        if not s.endswith("\\"):
            lines.append(cur.strip())
            cur = ""
    out = []
    for ln in lines:
        if ln.upper().startswith("FROM "):
            out.append((ln, []))
        elif out:
            out[-1][1].append(ln)
    return out


def apt_closure(pkgs):
    r = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                        "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"]
                       + pkgs, capture_output=True, text=True)
    names = set(pkgs)
    for ln in r.stdout.splitlines():
        m = re.match(r"\s*(?:PreDepends|Depends): <?([^>\s:]+)", ln)
        if m:
            names.add(m.group(1))
        elif ln and not ln.startswith(" "):
            names.add(ln.strip().split(":")[0])
    return names


LIB_PKG = {}


def lib_packages(binary):
    """The Debian packages of the shared libraries binary loads (one dpkg -S for all)."""
    r = subprocess.run(["ldd", binary], capture_output=True, text=True)
    libs = [ln.split("=>")[1].split()[0] for ln in r.stdout.splitlines()
            if "=>" in ln and "/" in ln.split("=>")[1]]
    if any(re.search(r"/lib(asan|ubsan|tsan)\.so", lib) for lib in libs):
        print("note: %s is a sanitizer build; its runtime libraries are checked in a plain build"
              % binary)
        return set()
    todo = [lib for lib in libs if lib not in LIB_PKG]
    alias = {}
    for lib in todo:  # usrmerge: dpkg may know the file under /lib or /usr/lib
        for p in (lib, os.path.realpath(lib)):
            alias[p] = lib
            if p.startswith("/usr/"):
                alias[p[4:]] = lib
            else:
                alias["/usr" + p] = lib
    if todo:
        q = subprocess.run(["dpkg", "-S"] + sorted(alias), capture_output=True, text=True)
        for ln in q.stdout.splitlines():
            pkg, _, path = ln.partition(": ")
            if path in alias:
                LIB_PKG[alias[path]] = pkg.split(":")[0].strip()
    pkgs = set()
    for lib in libs:
        if check(lib in LIB_PKG, "ldd %s: %s belongs to no Debian package" % (binary, lib)):
            pkgs.add(LIB_PKG[lib])
    return pkgs


def check_dockerfiles():
    build_stages = {}
    for image in PARTIES + ("tools",):
        path = os.path.join(CT, image, "Dockerfile")
        if not check(os.path.isfile(path), "%s: missing" % path):
            continue
        text = open(path).read()
        st = stages(text)
        name = "containers/%s/Dockerfile" % image
        if not check(len(st) == 2, "%s: expected a build and a runtime stage" % name):
            continue
        (b_from, b_body), (r_from, r_body) = st
        check(b_from == "FROM debian:bookworm AS build", "%s: build stage FROM: %s" % (name, b_from))
        check(r_from.startswith("FROM debian:bookworm-slim"), "%s: runtime FROM: %s" % (name, r_from))
        build_stages[image] = b_body
        check(any("scripts/deps" in ln for ln in b_body) and
              any(ln.startswith("RUN /usr/local/sbin/caselink-deps") for ln in b_body),
              "%s: build stage does not install scripts/deps" % name)
        for b in BINARY.values():  # one shared build stage builds every image's program
            check(any(re.search(r"--target\b.*\s%s(\s|$)" % b, ln) for ln in b_body),
                  "%s: build stage does not build %s" % (name, b))
        for ln in b_body + r_body:
            word = ln.split()[0].upper()
            check(word != "ADD", "%s: ADD (use COPY): %s" % (name, ln))
            check(":latest" not in ln, "%s: unpinned :latest: %s" % (name, ln))
            if word == "COPY" and "--from=" not in ln:
                for srcp in ln.split()[1:-1]:
                    check(os.path.exists(os.path.join(SRC, srcp)),
                          "%s: COPY source %s does not exist" % (name, srcp))
        subdirs = re.findall(r"^\s*add_subdirectory\((\S+?)\)", open(os.path.join(SRC, "CMakeLists.txt"))
                             .read(), re.M)
        copied_src = {ln.split()[1] for ln in b_body if ln.startswith("COPY ")}
        for sd in subdirs:
            check(sd.split("/")[0] in copied_src,
                  "%s: build stage does not COPY %s (add_subdirectory in CMakeLists.txt)" % (name, sd))
        for ln in r_body:
            if ln.startswith("COPY containers/") and "/usr/local/bin/" in ln:
                script = os.path.join(SRC, ln.split()[1])
                check(os.access(script, os.X_OK), "%s: %s is not executable" % (name, ln.split()[1]))
        users = [ln.split()[1] for ln in r_body if ln.upper().startswith("USER ")]
        check(users and users[-1].split(":")[0] not in ("0", "root"),
              "%s: runtime stage must end as a non-root USER" % name)
        check(any(ln.startswith("ENTRYPOINT [") for ln in r_body),
              "%s: ENTRYPOINT must be in exec form" % name)
        installs = [ln for ln in r_body if "apt-get install" in ln]
        check(installs and all("--no-install-recommends" in ln and "rm -rf /var/lib/apt/lists" in ln
                               for ln in installs),
              "%s: runtime apt-get install without --no-install-recommends or list cleanup" % name)
        copied = " ".join(ln for ln in r_body if ln.startswith("COPY --from=build"))
        check("/build/bin/%s " % BINARY[image] in copied + " ",
              "%s: runtime stage lacks %s" % (name, BINARY[image]))
        if image in PARTIES:
            check(any(ln.startswith("HEALTHCHECK") and "caselink-health" in ln for ln in r_body),
                  "%s: no HEALTHCHECK calling caselink-health" % name)
            check(any("EXPOSE %d" % PORTS[image] == ln for ln in r_body),
                  "%s: EXPOSE %d missing" % (name, PORTS[image]))
            check(any("VOLUME" in ln and "/var/lib/caselink" in ln for ln in r_body),
                  "%s: /var/lib/caselink is not a VOLUME" % name)
            check(any("python3-grpcio" in ln for ln in installs),
                  "%s: the health check needs python3-grpcio" % name)
        if BIN and installs:
            binary = os.path.join(BIN, BINARY[image])
            if check(os.path.isfile(binary), "%s not built" % binary):
                pkgs = re.findall(r"install -y --no-install-recommends ([^&]+)", installs[0])
                listed = pkgs[0].split() if pkgs else []
                closure = apt_closure(listed + ["libc6"])
                for p in sorted(lib_packages(binary)):
                    check(p in closure, "%s: %s needs %s, which the runtime stage does not install"
                          % (name, BINARY[image], p))
    bodies = list(build_stages.values())
    check(all(b == bodies[0] for b in bodies), "Dockerfiles: build stages differ: %s"
          % ", ".join(sorted(build_stages)))


# ---------------------------------------------------------------- compose

def check_compose():
    cf = yaml.safe_load(open(os.path.join(CT, "compose.yaml")))
    svcs = cf.get("services", {})
    kinds = {}
    for name, s in svcs.items():
        df = (s.get("build") or {}).get("dockerfile", "")
        m = re.match(r"containers/(\w+)/Dockerfile$", df)
        if m:
            kinds[name] = m.group(1)
    nodes = sorted(n for n, k in kinds.items() if k == "node")
    check(len(nodes) == 3, "compose: expected three nodes, found %s" % nodes)
    cps = sorted(n for n, k in kinds.items() if k == "compute")
    check(cps == ["cp-1", "cp-2"], "compose: expected computing parties cp-1 and cp-2, found %s"
          % cps)
    cp_confs = {}
    coord_compute = None
    check(kinds.get("keyholder") == "keyholder" and kinds.get("coordinator") == "coordinator",
          "compose: keyholder and coordinator services missing")
    boot = svcs.get("bootstrap", {})
    check(kinds.get("bootstrap") == "tools", "compose: bootstrap job must use the tools image")
    parties = dict(e.split(":") for e in str(boot.get("environment", {})
                                              .get("CASELINK_PARTIES", "")).split())
    check(boot.get("network_mode") == "none", "compose: the PKI job must have no network")
    nets = {}
    for name, kind in kinds.items():
        if kind == "tools":
            continue
        s = svcs[name]
        where = "compose: %s" % name
        check(s.get("read_only") is True, "%s: read_only root filesystem missing" % where)
        check("ALL" in (s.get("cap_drop") or []), "%s: cap_drop ALL missing" % where)
        check(not s.get("cap_add"), "%s: adds capabilities" % where)
        check("user" not in s, "%s: overrides the image's non-root user" % where)
        check("/tmp" in (s.get("tmpfs") or []), "%s: /tmp tmpfs missing" % where)
        vols = s.get("volumes") or []
        tls = [v for v in vols if v.split(":")[1] == "/etc/caselink/tls"]
        check(len(tls) == 1 and tls[0].endswith(":ro"), "%s: TLS volume must be read-only" % where)
        check(any(v.split(":")[1] == "/var/lib/caselink" for v in vols),
              "%s: no state volume at /var/lib/caselink" % where)
        confs = [v for v in vols if v.split(":")[1] == "/etc/caselink/%s.yaml" % kind]
        ok = len(confs) == 1 and confs[0].endswith(":ro")
        if check(ok, "%s: configuration not mounted read-only" % where):
            cpath = os.path.join(CT, confs[0].split(":")[0])
            if check(os.path.isfile(cpath), "%s: %s missing" % (where, cpath)):
                conf = yaml.safe_load(open(cpath))
                check(conf.get("listen") == "0.0.0.0:%d" % PORTS[kind],
                      "%s: listen must be 0.0.0.0:%d" % (where, PORTS[kind]))
                check(all(str(v).startswith("/etc/caselink/tls/")
                          for v in (conf.get("tls") or {}).values()) and conf.get("tls"),
                      "%s: TLS paths must be under /etc/caselink/tls" % where)
                if kind == "coordinator":
                    coord_compute = conf.get("compute") or []
                    ids = sorted(n["id"] for n in conf.get("nodes", []))
                    check(ids == nodes, "%s: configured nodes %s != services %s" % (where, ids, nodes))
                    for n in conf.get("nodes", []):
                        check(n.get("address") == "%s:%d" % (n["id"], PORTS["node"]),
                              "%s: node %s must be dialled by its name" % (where, n["id"]))
                elif kind == "keyholder":
                    check(sorted(conf.get("nodes", [])) == nodes,
                          "%s: registered nodes != node services" % where)
                elif kind == "compute":
                    cp_confs[name] = conf
                else:
                    check(conf.get("coordinators") == ["coordinator"],
                          "%s: coordinators must be [coordinator]" % where)
        tls_vol = tls[0].split(":")[0] if tls else None
        check(tls_vol and any(v.split(":")[0] == tls_vol and v.split(":")[1] == "/out/%s" % name
                              for v in boot.get("volumes", [])),
              "%s: its TLS volume is not filled by the bootstrap job" % where)
        exp_role = "node" if kind == "node" else kind
        check(parties.get(name) == exp_role, "%s: no %s certificate in CASELINK_PARTIES" % (where, exp_role))
        if kind in ("node", "compute"):
            env = s.get("environment") or {}
            check(env.get("CASELINK_ID") == name, "%s: CASELINK_ID must equal the service name" % where)
        nets[name] = set(s.get("networks") or [])
    check_compute_confs("compose", cp_confs, coord_compute, cps, "/etc/caselink/tls/")
    netdefs = cf.get("networks") or {}
    kh = nets.get("keyholder", set())
    co = nets.get("coordinator", set())
    for n in nodes:
        check(nets.get(n, set()) & kh, "compose: %s cannot reach the keyholder" % n)
        check(nets.get(n, set()) & co, "compose: the coordinator cannot reach %s" % n)
        for m in nodes:
            if m != n:
                check(not (nets.get(n, set()) & nets.get(m, set()) - kh),
                      "compose: nodes %s and %s share a network other than the keyholder's" % (n, m))
    check(not (kh & co), "compose: the coordinator shares a network with the keyholder")
    for c in cps:
        mine = nets.get(c, set())
        check(mine & co, "compose: %s and the coordinator share no network" % c)
        for other in cps:
            if other != c:
                check(mine & nets.get(other, set()), "compose: %s cannot reach %s" % (c, other))
        for other, theirs in nets.items():
            if other not in cps and other != "coordinator":
                check(not (mine & theirs), "compose: %s shares a network with %s" % (c, other))
        for net in mine:
            check((netdefs.get(net) or {}).get("internal") is True,
                  "compose: network %s of a computing party must be internal" % net)
    for net in kh | set().union(*[nets.get(n, set()) for n in nodes]):
        check((netdefs.get(net) or {}).get("internal") is True,
              "compose: network %s of a node or the keyholder must be internal" % net)
    check("users" in co and "ports" in svcs.get("coordinator", {}),
          "compose: the coordinator must be reachable by users")
    for name in ("keyholder",) + tuple(nodes) + tuple(cps):
        check("ports" not in svcs.get(name, {}), "compose: %s publishes a port" % name)
    check(parties.get("national") == "user", "compose: no user certificate for the query")


def check_compute_confs(where, cp_confs, coord_compute, cps, tls_dir):
    """The computing parties' configurations and the coordinator's compute: section agree:
    parties 1 and 2, each dialling the coordinator and the other by name on their ports."""
    numbers = {}
    for name, conf in cp_confs.items():
        w = "%s: %s's configuration" % (where, name)
        numbers[name] = conf.get("party")
        check(conf.get("coordinator") == {"id": "coordinator",
                                          "address": "coordinator:%d" % PORTS["coordinator"]},
              "%s: coordinator must be {id: coordinator, address: coordinator:%d}"
              % (w, PORTS["coordinator"]))
        peers = [c for c in cps if c != name]
        peer = conf.get("peer") or {}
        check(len(peers) == 1 and peer.get("id") == peers[0]
              and peer.get("address") == "%s:%d" % (peers[0], PORTS["compute"]),
              "%s: peer must be the other computing party, dialled by its name" % w)
        check(not conf.get("insecure_demo"), "%s: insecure_demo set" % w)
    check(sorted(numbers.values()) == [1, 2], "%s: computing parties' numbers %s, expected 1 and 2"
          % (where, sorted(numbers.items())))
    w = "%s: the coordinator's compute section" % where
    if not check(coord_compute is not None and len(coord_compute) == 2,
                 "%s: must name the two computing parties" % w):
        return
    for e in coord_compute:
        cid = e.get("id")
        check(cid in cp_confs and e.get("party") == numbers.get(cid),
              "%s: %s as party %s, but its configuration says %s"
              % (w, cid, e.get("party"), numbers.get(cid)))
        check(e.get("address") == "%s:%d" % (cid, PORTS["compute"]),
              "%s: %s must be dialled by its name on port %d" % (w, cid, PORTS["compute"]))
        check(e.get("cert") == "%s%s.pem" % (tls_dir, cid),
              "%s: %s's certificate must be %s%s.pem" % (w, cid, tls_dir, cid))


# ---------------------------------------------------------------- Kubernetes

def k8s_models():
    from kubernetes import client
    return client


def walk(client, obj, typ, path):
    if obj is None:
        return
    if typ in ("object", "datetime"):
        return
    if typ == "str":
        check(isinstance(obj, str), "%s: expected a string, got %r" % (path, obj))
        return
    if typ == "int":
        check(isinstance(obj, int) and not isinstance(obj, bool), "%s: expected an integer" % path)
        return
    if typ == "bool":
        check(isinstance(obj, bool), "%s: expected true/false" % path)
        return
    if typ.startswith("list["):
        if check(isinstance(obj, list), "%s: expected a list" % path):
            for i, v in enumerate(obj):
                walk(client, v, typ[5:-1], "%s[%d]" % (path, i))
        return
    if typ.startswith("dict("):
        inner = typ[typ.index(",") + 1:-1].strip()
        if check(isinstance(obj, dict), "%s: expected a map" % path):
            for k, v in obj.items():
                check(isinstance(k, str), "%s: key %r is not a string" % (path, k))
                walk(client, v, inner, "%s.%s" % (path, k))
        return
    cls = getattr(client, typ, None)
    if not check(cls is not None, "%s: unknown model %s" % (path, typ)):
        return
    if not check(isinstance(obj, dict), "%s: expected a %s object" % (path, typ)):
        return
    by_json = {v: k for k, v in cls.attribute_map.items()}
    for k, v in obj.items():
        if check(k in by_json, "%s: unknown field %r in %s" % (path, k, typ)):
            walk(client, v, cls.openapi_types[by_json[k]], "%s.%s" % (path, k))


def k8s_validate(client, doc, where):
    av, kind = doc.get("apiVersion", ""), doc.get("kind", "")
    version = av.split("/")[-1]
    typ = version[0].upper() + version[1:] + kind
    if not check(hasattr(client, typ), "%s: unknown kind %s %s" % (where, av, kind)):
        return
    walk(client, doc, typ, "%s %s/%s" % (where, kind, doc.get("metadata", {}).get("name")))
    try:
        client.ApiClient()._ApiClient__deserialize(doc, typ)
    except ValueError as e:
        check(False, "%s %s: %s" % (where, kind, e))


def selects(sel, labels):
    """A LabelSelector (matchLabels only; matchExpressions refused) against labels."""
    if sel is None:
        return False
    check(not sel.get("matchExpressions"), "networkpolicy: matchExpressions not evaluated here")
    return all(labels.get(k) == v for k, v in (sel.get("matchLabels") or {}).items())


def peer_matches(peer, policy_ns, pod):
    ns_sel, pod_sel = peer.get("namespaceSelector"), peer.get("podSelector")
    if "ipBlock" in peer:
        return False
    if ns_sel is None:
        return pod["ns"] == policy_ns and selects(pod_sel, pod["labels"])
    if not selects(ns_sel, pod["ns_labels"]):
        return False
    return pod_sel is None or selects(pod_sel, pod["labels"])


def rule_allows(rule, key, policy_ns, peer_pod, port, proto):
    peers = rule.get(key)
    if peers and not any(peer_matches(p, policy_ns, peer_pod) for p in peers):
        return False
    ports = rule.get("ports")
    if not ports:
        return True
    return any(p.get("port") == port and p.get("protocol", "TCP") == proto for p in ports)


def direction_allows(policies, pod, peer, port, proto, ptype):
    mine = [p for p in policies if p["metadata"]["namespace"] == pod["ns"]
            and selects(p["spec"].get("podSelector"), pod["labels"])
            and ptype in p["spec"].get("policyTypes", ["Ingress"])]
    if not mine:
        return True
    key = "from" if ptype == "Ingress" else "to"
    return any(rule_allows(r, key, p["metadata"]["namespace"], peer, port, proto)
               for p in mine for r in (p["spec"].get(ptype.lower()) or []))


def check_k8s():
    client = k8s_models()
    kdir = os.path.join(CT, "k8s")
    kust = yaml.safe_load(open(os.path.join(kdir, "kustomization.yaml")))
    files = sorted(os.path.basename(f) for f in glob.glob(os.path.join(kdir, "*.yaml"))
                   if not f.endswith("kustomization.yaml"))
    check(sorted(kust.get("resources", [])) == files,
          "k8s: kustomization resources %s != files %s" % (kust.get("resources"), files))
    docs = []
    for f in files:
        for d in yaml.safe_load_all(open(os.path.join(kdir, f))):
            if d:
                k8s_validate(client, d, "k8s/%s" % f)
                docs.append(d)
    by = lambda kind: [d for d in docs if d["kind"] == kind]  # noqa: E731
    cms = {d["metadata"]["name"]: d for d in by("ConfigMap")}
    svcs = {d["metadata"]["name"]: d for d in by("Service")}
    workloads = by("StatefulSet") + by("Deployment")
    pods = []
    node_ids = []
    confs = {}
    for w in workloads:
        name = w["metadata"]["name"]
        where = "k8s %s %s" % (w["kind"], name)
        spec = w["spec"]["template"]["spec"]
        labels = w["spec"]["template"]["metadata"]["labels"]
        kind = labels.get("caselink/party")
        check(kind in PARTIES, "%s: no caselink/party label" % where)
        psc = spec.get("securityContext") or {}
        check(psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0,
              "%s: must run as non-root" % where)
        check(spec.get("automountServiceAccountToken") is False,
              "%s: service account token mounted" % where)
        (c,) = spec["containers"]
        sc = c.get("securityContext") or {}
        check(sc.get("readOnlyRootFilesystem") is True, "%s: root filesystem not read-only" % where)
        check(sc.get("allowPrivilegeEscalation") is False, "%s: privilege escalation allowed" % where)
        check("ALL" in ((sc.get("capabilities") or {}).get("drop") or []),
              "%s: capabilities not dropped" % where)
        check(c.get("image", "").startswith("caselink-%s:" % kind) and ":latest" not in c["image"],
              "%s: image %s" % (where, c.get("image")))
        env = {e["name"]: e.get("value") for e in c.get("env") or []}
        check(env.get("CASELINK_ID") == name, "%s: CASELINK_ID must be %s" % (where, name))
        mounts = {m["mountPath"]: m for m in c.get("volumeMounts") or []}
        vols = {v["name"]: v for v in spec.get("volumes") or []}
        pvcs = [t["metadata"]["name"] for t in w["spec"].get("volumeClaimTemplates") or []]
        data = mounts.get("/var/lib/caselink")
        check(data and data["name"] in pvcs, "%s: state not on a PersistentVolumeClaim" % where)
        tls = mounts.get("/etc/caselink/tls")
        ok = tls and tls.get("readOnly") and "secret" in vols.get(tls["name"], {})
        if check(ok, "%s: TLS not from a read-only Secret" % where):
            sec = vols[tls["name"]]["secret"]
            check(sec.get("secretName") == "tls-%s" % name, "%s: Secret must be tls-%s" % (where, name))
            check(sec.get("defaultMode", 0o644) & 0o007 == 0, "%s: TLS files readable by others" % where)
        cm = mounts.get("/etc/caselink/%s.yaml" % kind)
        ok = cm and cm.get("readOnly") and "configMap" in vols.get(cm["name"], {})
        if check(ok, "%s: configuration not from a read-only ConfigMap" % where):
            cmname = vols[cm["name"]]["configMap"]["name"]
            text = (cms.get(cmname) or {}).get("data", {}).get(cm.get("subPath", ""))
            if check(text is not None, "%s: ConfigMap %s lacks %s" % (where, cmname, cm.get("subPath"))):
                confs[name] = (kind, yaml.safe_load(text))
        check("/tmp" in mounts, "%s: /tmp is not writable (emptyDir)" % where)
        for probe in ("livenessProbe", "startupProbe"):
            cmd = ((c.get(probe) or {}).get("exec") or {}).get("command") or []
            check(cmd[:1] == ["/usr/local/bin/caselink-health"], "%s: %s must use caselink-health"
                  % (where, probe))
        port = PORTS.get(kind)
        check(any(p.get("containerPort") == port for p in c.get("ports") or []),
              "%s: containerPort %s" % (where, port))
        svc = svcs.get(name)
        check(svc and svc["spec"].get("selector", {}).items() <= labels.items()
              and any(p["port"] == port for p in svc["spec"]["ports"]),
              "%s: no Service %s on port %s selecting it" % (where, name, port))
        pods.append({"name": name, "ns": w["metadata"]["namespace"], "labels": labels,
                     "ns_labels": {"kubernetes.io/metadata.name": w["metadata"]["namespace"]},
                     "kind": kind})
        if kind == "node":
            node_ids.append(name)
    node_ids.sort()
    cp_ids = sorted(n for n, (k, _) in confs.items() if k == "compute")
    check(cp_ids == ["cp-1", "cp-2"], "k8s: computing parties %s, expected cp-1 and cp-2" % cp_ids)
    for c in cp_ids:
        check(c in svcs, "k8s: no Service %s" % c)
    coord = [c for k, c in confs.values() if k == "coordinator"]
    check_compute_confs("k8s", {n: c for n, (k, c) in confs.items() if k == "compute"},
                        coord[0].get("compute") if coord else None, cp_ids, "/etc/caselink/tls/")
    for name, (kind, conf) in confs.items():
        where = "k8s ConfigMap of %s" % name
        check(conf.get("listen") == "0.0.0.0:%d" % PORTS[kind], "%s: listen" % where)
        if kind == "compute":
            continue
        if kind == "coordinator":
            check(sorted(n["id"] for n in conf.get("nodes", [])) == node_ids,
                  "%s: nodes != node workloads" % where)
            for n in conf.get("nodes", []):
                check(n.get("address") == "%s:%d" % (n["id"], PORTS["node"]) and n["id"] in svcs,
                      "%s: node %s must be dialled by its Service name" % (where, n["id"]))
        elif kind == "keyholder":
            check(sorted(conf.get("nodes", [])) == node_ids, "%s: registered nodes" % where)
        else:
            check(conf.get("keyholder") == "keyholder:7000" and "keyholder" in svcs,
                  "%s: keyholder address" % where)
    # The NetworkPolicies, evaluated for every pair of pods and port.
    pols = by("NetworkPolicy")
    ext = [
        {"name": "ingress-controller", "ns": "ingress-nginx", "labels": {"app": "ingress-nginx"},
         "ns_labels": {"kubernetes.io/metadata.name": "ingress-nginx"}, "kind": "ingress"},
        {"name": "kube-dns", "ns": "kube-system", "labels": {"k8s-app": "kube-dns"},
         "ns_labels": {"kubernetes.io/metadata.name": "kube-system"}, "kind": "dns"},
        {"name": "stranger", "ns": "default", "labels": {"caselink/party": "coordinator"},
         "ns_labels": {"kubernetes.io/metadata.name": "default"}, "kind": "stranger"},
        {"name": "rogue", "ns": "caselink", "labels": {"app": "rogue"},
         "ns_labels": {"kubernetes.io/metadata.name": "caselink"}, "kind": "rogue"},
    ]
    expected = {("ingress", "coordinator", 7200), ("coordinator", "node", 7101),
                ("node", "keyholder", 7000), ("coordinator", "dns", 53), ("node", "dns", 53),
                ("coordinator", "compute", 7301), ("compute", "coordinator", 7200),
                ("compute", "compute", 7301), ("compute", "dns", 53)}
    allp = pods + ext
    for k in ("node", "compute"):
        check(any(p["kind"] == k for p in pods), "k8s: no %s workloads" % k)
    for src in allp:
        for dst in allp:
            if src is dst:
                continue
            for port in sorted(set(PORTS.values())) + [53]:
                proto = "UDP" if port == 53 else "TCP"
                ok = (direction_allows(pols, src, dst, port, proto, "Egress")
                      and direction_allows(pols, dst, src, port, proto, "Ingress"))
                if src["ns"] != "caselink" and dst["ns"] != "caselink":
                    continue  # outside the federation's namespace: not ours to police
                want = (src["kind"], dst["kind"], port) in expected
                check(ok == want, "k8s NetworkPolicy: %s -> %s:%d is %s, expected %s"
                      % (src["name"], dst["name"], port, "allowed" if ok else "denied",
                         "allowed" if want else "denied"))


def main():
    for name, fn in (("dockerfiles", check_dockerfiles), ("compose", check_compose),
                     ("k8s", check_k8s)):
        before, n0 = len(errors), checks
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - a crash is a failed check, reported
            errors.append("%s: check crashed: %s: %s" % (name, type(e).__name__, e))
        print("%s: %d checks, %d failed" % (name, checks - n0, len(errors) - before))
    for e in errors:
        print("FAIL: " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
