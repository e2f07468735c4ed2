// Issue 11 acceptance: both overlays render with kustomize and every object validates OFFLINE against the Kubernetes
// schemas (kubernetes-validate, strict) or, for the Prometheus Operator CRDs, the minimal schemas in
// test/k8s/crd-schemas/; the invariants (probes on the served ports, limits, non-root, read-only root fs, PDBs,
// NetworkPolicies, the lag autoscaler bounded by the partition count, alerts on exported metrics) hold
// (test/k8s/validate.py). Then the rendered configuration is loaded by the real config loader, and every underlying
// whose barrier reads MBP-10 has a futures feed deployed for its own contract.
// Needs no servers. Tools: scripts/k8s-tools builds kustomize (Go module proxy) and a venv with kubernetes-validate
// (PyPI) under ~/.cache/snap-engine on first use.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ENV_ALIASES, barrierSourceOf } from '@snap/core';
import { loadConfig } from '@snap/platform';

const ROOT = resolve(__dirname, '..', '..');
jest.setTimeout(600_000);

interface OverlayReport {
  objects: string[];
  errors: string[];
  env: Record<string, string>;
  config_json: string;
  commands: { kind: string; name: string; argv: string[] }[];
}
let report: Record<string, OverlayReport>;

beforeAll(() => {
  const [kustomize, python] = execFileSync('bash', [join(ROOT, 'scripts', 'k8s-tools')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n');
  const out = execFileSync(python!, [join(ROOT, 'test', 'k8s', 'validate.py'), kustomize!, ROOT, 'dev', 'colo'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  report = (JSON.parse(out) as { overlays: Record<string, OverlayReport> }).overlays;
});

/** Environment variables the pods get that are not config keys but are read by something real. */
const OTHER_ENV = new Set(['SNAP_CONFIG', 'NODE_EXTRA_CA_CERTS', 'DATABENTO_API_KEY_FILE']);

describe.each(['dev', 'colo'])('k8s overlay %s', (overlay) => {
  it('renders, validates against the schemas, and keeps every invariant', () => {
    const r = report[overlay]!;
    expect(r.errors).toEqual([]);
    for (const kind of ['Deployment/snap-processor', 'Deployment/snap-feed-massive', 'Deployment/snap-sink-lake', 'Deployment/snap-sink-redis', 'Deployment/snap-gateway', 'Job/snap-topics-apply']) {
      expect(r.objects).toContain(kind);
    }
    if (overlay === 'dev') for (const infra of ['StatefulSet/redpanda', 'Deployment/minio', 'Deployment/redis']) expect(r.objects).toContain(infra);
    if (overlay === 'colo') {
      for (const kind of ['HorizontalPodAutoscaler/snap-processor', 'NetworkPolicy/default-deny-all', 'PodDisruptionBudget/snap-processor', 'ServiceMonitor/snap-engine', 'PrometheusRule/snap-engine']) {
        expect(r.objects).toContain(kind);
      }
    }
  });

  it('its configuration loads with the real config loader, names only known variables, and feeds every MBP-10 barrier its own futures', () => {
    const r = report[overlay]!;
    for (const k of Object.keys(r.env)) {
      if (k.startsWith('SNAP_') || OTHER_ENV.has(k)) continue;
      expect([k, k in ENV_ALIASES]).toEqual([k, true]);
    }
    const dir = mkdtempSync(join(tmpdir(), 'snap-k8s-'));
    try {
      const file = join(dir, 'config.json');
      writeFileSync(file, r.config_json);
      // Unknown SNAP_ keys, bad values and an MBP-10 barrier without a futures symbol all throw here.
      const cfg = loadConfig({ env: { ...r.env, SNAP_CONFIG: file } });
      expect(cfg.underlyings.length).toBeGreaterThan(0);
      for (const u of cfg.underlyings) {
        if (barrierSourceOf(cfg, u) !== 'mbp10') continue;
        const contract = cfg.futures.contracts[u]!;
        const feeds = r.commands.filter((c) => {
          const argv = c.argv.join(' ');
          return /\bfeed (databento|dbn)\b/.test(argv) && new RegExp(`--underlying ${u}\\b`).test(argv) && (/\bfeed dbn\b/.test(argv) || new RegExp(`--symbols ${contract.symbol}\\.`).test(argv));
        });
        expect([u, contract.symbol, feeds.map((f) => f.name)]).toEqual([u, contract.symbol, [expect.any(String)]]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
