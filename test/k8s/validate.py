#!/usr/bin/env python3
"""Renders k8s/overlays/<name> with kustomize and checks every object OFFLINE: the Kubernetes JSON schemas shipped by
kubernetes-validate (strict: unknown fields are errors), the minimal CRD schemas in crd-schemas/ for the Prometheus
Operator kinds, and the project's invariants (probes on the ports the commands serve, resources, non-root, read-only
root fs; colo: Guaranteed QoS, colo placement, spread, PDBs, lag autoscaler bounded by the partition count,
default-deny NetworkPolicies, monitoring of metrics the code really exports). Prints one JSON report on stdout:
{"overlays": {name: {"objects": [...kinds/names], "errors": [...], "env": {...}, "config_json": "..."}}}.
usage: validate.py KUSTOMIZE REPO_ROOT OVERLAY...
"""
import json, os, re, subprocess, sys
import yaml, jsonschema, kubernetes_validate

K8S_VERSION = "1.37.0"
kustomize, root, overlays = sys.argv[1], sys.argv[2], sys.argv[3:]
HERE = os.path.dirname(os.path.abspath(__file__))
CRD_SCHEMAS = {}
for f in os.listdir(os.path.join(HERE, "crd-schemas")):
    with open(os.path.join(HERE, "crd-schemas", f)) as fh:
        s = json.load(fh)
    CRD_SCHEMAS[(s["properties"]["apiVersion"]["const"], s["properties"]["kind"]["const"])] = s

# Metric names the code exports (so an alert on a metric nobody emits is caught): every snap_* string in the sources.
SRC_METRICS = set()
for d in ("services", "packages"):
    for dp, _, fs in os.walk(os.path.join(root, d)):
        if "node_modules" in dp:
            continue
        for f in fs:
            if f.endswith(".ts") and not f.endswith(".test.ts"):
                with open(os.path.join(dp, f), encoding="utf8") as fh:
                    SRC_METRICS.update(re.findall(r"['\"](snap_[a-z0-9_]+)['\"]", fh.read()))

def pods_of(o):
    k = o["kind"]
    if k in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return o["spec"]["template"]
    return None

def containers(tpl, init=True):
    spec = tpl["spec"]
    return list(spec.get("containers", [])) + (list(spec.get("initContainers", [])) if init else [])

def qty(v):
    """CPU / memory quantity → float (for requests == limits)."""
    s = str(v)
    m = re.fullmatch(r"([0-9.]+)(m|Ki|Mi|Gi|Ti|k|M|G)?", s)
    if not m:
        return None
    n = float(m.group(1))
    return n * {None: 1, "m": 1e-3, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4, "k": 1e3, "M": 1e6, "G": 1e9}[m.group(2)]

def arg_after(args, flag):
    return args[args.index(flag) + 1] if flag in args else None

def check(name):
    errors = []
    err = lambda o, msg: errors.append(f"{o['kind']}/{o['metadata']['name']}: {msg}")
    out = subprocess.run([kustomize, "build", os.path.join(root, "k8s", "overlays", name)], capture_output=True, text=True)
    if out.returncode != 0:
        return {"objects": [], "errors": [f"kustomize build failed: {out.stderr.strip()}"], "env": {}, "config_json": "", "commands": []}
    objs = [d for d in yaml.safe_load_all(out.stdout) if d]
    by = {(o["kind"], o["metadata"]["name"]): o for o in objs}

    # 1. Schemas.
    for o in objs:
        key = (o["apiVersion"], o["kind"])
        if key in CRD_SCHEMAS:
            try:
                jsonschema.validate(o, CRD_SCHEMAS[key])
            except jsonschema.ValidationError as e:
                err(o, f"CRD schema: {e.message} at {'/'.join(map(str, e.absolute_path))}")
            continue
        try:
            kubernetes_validate.validate(o, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            err(o, f"schema: {e.message} at {'/'.join(map(str, e.path))}")
        except kubernetes_validate.SchemaNotFoundError as e:
            err(o, f"no schema for {key} (ship one in test/k8s/crd-schemas/): {e}")

    env = by.get(("ConfigMap", "snap-engine-env"), {}).get("data", {})
    config_json = by.get(("ConfigMap", "snap-engine-config"), {}).get("data", {}).get("config.json", "")
    namespaces = {o["metadata"].get("namespace") for o in objs if o["kind"] != "Namespace"}
    if namespaces != {"snap-engine"}:
        errors.append(f"objects outside namespace snap-engine: {sorted(map(str, namespaces))}")

    # 2. Pod invariants, every workload.
    workloads = [o for o in objs if pods_of(o)]
    for o in workloads:
        tpl = pods_of(o)
        ps = tpl["spec"]
        if not ps.get("securityContext", {}).get("runAsNonRoot"):
            err(o, "pod securityContext.runAsNonRoot is not true")
        if ps.get("automountServiceAccountToken") is not False:
            err(o, "automountServiceAccountToken is not false")
        vols = {v["name"] for v in ps.get("volumes", [])} | {v["metadata"]["name"] for v in o["spec"].get("volumeClaimTemplates", [])}
        for c in containers(tpl):
            sc = c.get("securityContext", {})
            if sc.get("readOnlyRootFilesystem") is not True:
                err(o, f"container {c['name']}: readOnlyRootFilesystem is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                err(o, f"container {c['name']}: allowPrivilegeEscalation is not false")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []):
                err(o, f"container {c['name']}: capabilities do not drop ALL")
            r = c.get("resources", {})
            for part in ("requests", "limits"):
                for res in ("cpu", "memory"):
                    if res not in r.get(part, {}):
                        err(o, f"container {c['name']}: no {part}.{res}")
            for m in c.get("volumeMounts", []):
                if m["name"] not in vols:
                    err(o, f"container {c['name']}: mounts unknown volume {m['name']}")
        # Long-running workloads answer probes; Jobs run to completion.
        if o["kind"] in ("Deployment", "StatefulSet"):
            for c in containers(tpl, init=False):
                ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
                for probe in ("readinessProbe", "livenessProbe"):
                    p = c.get(probe)
                    if not p:
                        err(o, f"container {c['name']}: no {probe}")
                        continue
                    h = p.get("httpGet")
                    if h and isinstance(h["port"], str) and h["port"] not in ports:
                        err(o, f"container {c['name']}: {probe} port {h['port']} is not a container port")
                # Our services: /healthz on the port the command really serves.
                if c.get("image", "").split("/")[-1].startswith("snap-engine"):
                    args = c.get("args", [])
                    port = None
                    if args[:1] == ["processor"]:
                        port = int(env.get("SNAP_HTTP_PORT", 9464))
                    elif args[:1] == ["gateway"]:
                        port = int(arg_after(args, "--port") or env.get("SNAP_GATEWAY_PORT", 8787))
                    elif arg_after(args, "--metrics-port"):
                        port = int(arg_after(args, "--metrics-port"))
                    else:
                        err(o, f"container {c['name']}: command {args} serves no /healthz (give it --metrics-port)")
                    for probe in ("readinessProbe", "livenessProbe"):
                        h = (c.get(probe) or {}).get("httpGet")
                        # The processor's liveness is /livez (a stall), its readiness /healthz (also a stale book).
                        want = "/livez" if probe == "livenessProbe" and args[:1] == ["processor"] else "/healthz"
                        if not h or h.get("path") != want:
                            err(o, f"container {c['name']}: {probe} is not httpGet {want}")
                        elif port is not None and ports.get(h["port"], h["port"]) != port:
                            err(o, f"container {c['name']}: {probe} probes port {ports.get(h['port'], h['port'])} but the command serves {port}")

    # 3. Every Service selects pods that exist, on ports they declare.
    for s in [o for o in objs if o["kind"] == "Service"]:
        sel = s["spec"].get("selector", {})
        match = [w for w in workloads if all(pods_of(w)["metadata"].get("labels", {}).get(k) == v for k, v in sel.items())]
        if not match:
            err(s, f"selects no pod ({sel})")
            continue
        names = {p.get("name") for w in match for c in containers(pods_of(w), init=False) for p in c.get("ports", [])}
        for p in s["spec"]["ports"]:
            if isinstance(p.get("targetPort"), str) and p["targetPort"] not in names:
                err(s, f"targetPort {p['targetPort']} is no container port of its pods")

    # 4. Connection settings point at what is deployed (dev) or at infra/ (colo).
    def svc_for(host):
        # <pod>.<svc>.<ns>.svc.cluster.local or <svc>.<ns>.svc.cluster.local
        m = re.fullmatch(r"(?:([a-z0-9-]+)\.)?([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local", host)
        return m and (m.group(2), m.group(3))
    endpoints = []
    for b in env.get("KAFKA_BROKERS", "").split(","):
        endpoints.append(("KAFKA_BROKERS", b))
    for k in ("SCHEMA_REGISTRY_URL", "S3_ENDPOINT", "REDIS_URL"):
        if k in env:
            u = re.sub(r"^[a-z]+://", "", env[k]).split("/")[0]
            endpoints.append((k, u))
    for k, hp in endpoints:
        host, _, port = hp.rpartition(":")
        sv = svc_for(host)
        if not sv:
            errors.append(f"{k}: {hp} is not a cluster service address")
            continue
        svc_name, ns = sv
        if ns == "snap-engine":
            s = by.get(("Service", svc_name))
            if not s:
                errors.append(f"{k}: {hp} names Service {svc_name}, which this overlay does not deploy")
            elif int(port) not in [p["port"] for p in s["spec"]["ports"]]:
                errors.append(f"{k}: {hp}: Service {svc_name} has no port {port}")
    if name == "colo":
        with open(os.path.join(root, "infra", "redpanda", "redpanda.yaml")) as fh:
            rp = yaml.safe_load(fh)
        adv = {f"{a['address']}:{a['port']}" for a in rp["redpanda"]["advertised_kafka_api"] if a.get("name") == "sasl_ssl"}
        tmpl = re.compile(r"redpanda-(\d)\.(.*)")
        for b in env.get("KAFKA_BROKERS", "").split(","):
            m = tmpl.fullmatch(b)
            if not m or not any(re.sub(r"redpanda-\d\.", f"redpanda-{m.group(1)}.", a) == b for a in adv):
                errors.append(f"KAFKA_BROKERS: {b} is not the sasl_ssl listener advertised by infra/redpanda/redpanda.yaml ({sorted(adv)})")
        reg = rp["schema_registry"]["schema_registry_api"][0]
        if not env.get("SCHEMA_REGISTRY_URL", "").endswith(f":{reg['port']}") or not env["SCHEMA_REGISTRY_URL"].startswith("https://"):
            errors.append(f"SCHEMA_REGISTRY_URL {env.get('SCHEMA_REGISTRY_URL')} is not the TLS registry of infra/redpanda/redpanda.yaml (:{reg['port']})")
        if env.get("KAFKA_SECURITY_PROTOCOL") != "SASL_SSL" or env.get("KAFKA_SASL_MECHANISM") != "SCRAM-SHA-512":
            errors.append("colo must speak SASL_SSL with SCRAM-SHA-512")

    # 5. Colo production invariants.
    if name == "colo":
        deps = [o for o in objs if o["kind"] == "Deployment"]
        for o in workloads:
            tpl = pods_of(o)
            for c in containers(tpl):
                r = c.get("resources", {})
                for res in ("cpu", "memory"):
                    if qty(r.get("requests", {}).get(res)) != qty(r.get("limits", {}).get(res)):
                        err(o, f"container {c['name']}: {res} requests != limits (Guaranteed QoS)")
            ps = tpl["spec"]
            terms = ps.get("affinity", {}).get("nodeAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution", {}).get("nodeSelectorTerms", [])
            if not any(e["key"] == "snap-engine/pool" for t in terms for e in t.get("matchExpressions", [])):
                err(o, "no required node affinity to the colo pool")
            if not any(t.get("key") == "snap-engine/colo" for t in ps.get("tolerations", [])):
                err(o, "no toleration of the colo taint")
        for n in ("snap-processor", "snap-gateway"):
            d = by.get(("Deployment", n))
            if d and not d["spec"]["template"]["spec"].get("topologySpreadConstraints"):
                err(d, "no topologySpreadConstraints")
        pdbs = [o for o in objs if o["kind"] == "PodDisruptionBudget"]
        for d in deps:
            labels = d["spec"]["template"]["metadata"]["labels"]
            if not any(all(labels.get(k) == v for k, v in p["spec"]["selector"]["matchLabels"].items()) for p in pdbs):
                err(d, "no PodDisruptionBudget selects it")
        parts = int(env.get("SNAP_KAFKA_PARTITIONS", 6))
        scalers = [o for o in objs if o["kind"] == "HorizontalPodAutoscaler" and o["spec"]["scaleTargetRef"]["name"] == "snap-processor"]
        if not scalers:
            errors.append("no HorizontalPodAutoscaler for snap-processor")
        for h in scalers:
            if h["spec"]["maxReplicas"] > parts:
                err(h, f"maxReplicas {h['spec']['maxReplicas']} > kafka.partitions {parts}: the extra replicas would own no partition group")
            names = [m.get(m["type"].lower(), {}).get("metric", {}).get("name", "") for m in h["spec"].get("metrics", [])]
            if not any("lag" in n for n in names):
                err(h, f"does not scale on consumer lag (metrics: {names})")
            for n in names:
                if n not in SRC_METRICS:
                    err(h, f"metric {n} is exported by no code")
        nps = [o for o in objs if o["kind"] == "NetworkPolicy"]
        deny = [p for p in nps if p["spec"]["podSelector"] == {} and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"} and not p["spec"].get("ingress") and not p["spec"].get("egress")]
        if not deny:
            errors.append("no default-deny NetworkPolicy (podSelector {}, Ingress+Egress, no rules)")
        def selects(p, labels):
            ps = p["spec"]["podSelector"]
            ok = all(labels.get(k) == v for k, v in ps.get("matchLabels", {}).items())
            for e in ps.get("matchExpressions", []):
                ok = ok and (labels.get(e["key"]) in e["values"] if e["operator"] == "In" else True)
            return ok
        for d in deps:
            labels = d["spec"]["template"]["metadata"]["labels"]
            allows = [p for p in nps if p not in deny and p["spec"]["podSelector"] != {} and selects(p, labels)]
            if not any("Egress" in p["spec"]["policyTypes"] and p["spec"].get("egress") for p in allows):
                err(d, "no NetworkPolicy allows its egress (it could not reach the brokers)")
            if not any("Ingress" in p["spec"]["policyTypes"] and p["spec"].get("ingress") for p in allows):
                err(d, "no NetworkPolicy allows ingress to it (probes pass through the kubelet; metrics scraping and users do not)")
        sms = [o for o in objs if o["kind"] == "ServiceMonitor"]
        if not sms:
            errors.append("no ServiceMonitor")
        for sm in sms:
            sel = sm["spec"]["selector"]["matchLabels"]
            svcs = [s for s in objs if s["kind"] == "Service" and all(s["metadata"].get("labels", {}).get(k) == v for k, v in sel.items())]
            for n in ("snap-processor", "snap-sink-lake", "snap-sink-redis", "snap-feed-massive"):
                if n not in [s["metadata"]["name"] for s in svcs]:
                    err(sm, f"does not scrape Service {n}")
            for s in svcs:
                if "metrics" not in [p.get("name") for p in s["spec"]["ports"]]:
                    err(s, "scraped by the ServiceMonitor but has no port named metrics")
        rules = [r for o in objs if o["kind"] == "PrometheusRule" for g in o["spec"]["groups"] for r in g["rules"]]
        text = " ".join(str(r["expr"]) for r in rules)
        for what, metric in (("lag", "snap_processor_consumer_lag"), ("dead letters", "snap_processor_dead_letters_total"), ("stale book source", "snap_processor_book_source_stale"), ("transaction aborts", "snap_processor_transactions_total")):
            if metric not in text:
                errors.append(f"no alert on {what} ({metric})")
        for metric in set(re.findall(r"\b(snap_[a-z0-9_]+)", text)):
            if metric not in SRC_METRICS:
                errors.append(f"an alert uses {metric}, which no code exports")

    commands = [{"kind": o["kind"], "name": o["metadata"]["name"], "argv": c.get("command", []) + c.get("args", [])} for o in workloads for c in containers(pods_of(o), init=False) if c.get("image", "").split("/")[-1].startswith("snap-engine")]
    return {"objects": [f"{o['kind']}/{o['metadata']['name']}" for o in objs], "errors": errors, "env": env, "config_json": config_json, "commands": commands}

print(json.dumps({"overlays": {n: check(n) for n in overlays}}))
