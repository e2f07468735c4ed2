// The self-contained HTML report of `snap-engine eval`: tables and inline SVG plots generated here (no scripts, no
// CDN, no external fonts), so the file opens offline. Pure: returns the document as a string.
import type { AblationVariant } from './ablation';
import { LEAD_BUCKETS_MS, type GroupStats, type Metrics, type PRF } from './metrics';

export interface EvalReport {
  version: 1;
  command: string;
  source: { kind: 'sim' | 'input'; seeds?: number[]; duration_ms?: number; regime?: string; input?: string; underlying: string };
  definitions: Record<string, string>;
  params: Record<string, number>;
  variants: Partial<Record<AblationVariant, Metrics>>;
  /** One row per session (seed null: an --input file). */
  per_seed?: { seed: number | null; events: number; episodes: number; break_f1: number | null; reject_precision: number | null }[];
  /** `--baseline FILE`: an earlier run's headline (e.g. before an engine change), shown next to this one. */
  baseline?: { file: string; command: string; headline: string[][] };
  /** When the run published S̃ uncalibrated (score.calibration []): the isotonic map of its `all` (or only) variant's
   *  reliability bins, ready to be score.calibration (eval/calibration.ts). Fit on tuning seeds only. */
  fitted_calibration?: Array<[number, number]>;
}

/** Before/after rows: per variant present in both, the baseline's headline row then this run's. */
export function beforeAfterRows(baseline: readonly string[][], current: readonly string[][]): string[][] {
  const out: string[][] = [];
  for (const row of current) {
    const before = baseline.find((b) => b[0] === row[0]);
    if (!before) continue;
    out.push([`${row[0]} (before)`, ...before.slice(1)], [`${row[0]} (after)`, ...row.slice(1)]);
  }
  return out;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
export const fmt = (x: number | null | undefined, d = 2): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));
const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : `${(100 * x).toFixed(1)}%`);

function table(head: string[], rows: (string | number)[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(String(c))}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/** Reliability diagram: mean break_score_smooth/100 per bin (x) against the empirical break rate (y), with the diagonal. */
export function reliabilitySvg(m: Metrics): string {
  const W = 360;
  const H = 360;
  const pad = 40;
  const sx = (x: number) => pad + x * (W - 2 * pad);
  const sy = (y: number) => H - pad - y * (H - 2 * pad);
  const maxN = Math.max(1, ...m.reliability.bins.map((b) => b.n));
  const bars = m.reliability.bins
    .map((b) => {
      const h = (b.n / maxN) * 40;
      return `<rect x="${sx(b.lo) + 1}" y="${sy(0) - h}" width="${sx(b.hi) - sx(b.lo) - 2}" height="${h}" fill="#ddd"><title>${b.n} readings</title></rect>`;
    })
    .join('');
  const pts = m.reliability.bins.filter((b) => b.n > 0 && b.mean_score !== null && b.break_rate !== null);
  const line = pts.map((b, i) => `${i ? 'L' : 'M'}${sx(b.mean_score!).toFixed(1)},${sy(b.break_rate!).toFixed(1)}`).join(' ');
  const dots = pts.map((b) => `<circle cx="${sx(b.mean_score!).toFixed(1)}" cy="${sy(b.break_rate!).toFixed(1)}" r="4" fill="#c0392b"><title>score ${fmt(b.mean_score! * 100, 1)} → break rate ${pct(b.break_rate)} (n=${b.n})</title></circle>`).join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((t) => `<text x="${sx(t)}" y="${H - pad + 16}" font-size="11" text-anchor="middle">${t * 100}</text><text x="${pad - 6}" y="${sy(t) + 4}" font-size="11" text-anchor="end">${t.toFixed(2)}</text>`)
    .join('');
  return `<svg class="plot" id="reliability" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">
<rect x="${pad}" y="${pad}" width="${W - 2 * pad}" height="${H - 2 * pad}" fill="none" stroke="#888"/>${bars}
<line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(1)}" y2="${sy(1)}" stroke="#888" stroke-dasharray="4 3"/>
<path d="${line}" fill="none" stroke="#c0392b" stroke-width="2"/>${dots}${ticks}
<text x="${W / 2}" y="${H - 6}" font-size="12" text-anchor="middle">break_score_smooth</text>
<text x="12" y="${H / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 12 ${H / 2})">empirical break rate</text>
<text x="${W / 2}" y="${pad - 10}" font-size="12" text-anchor="middle">ECE ${fmt(m.reliability.ece, 3)} over ${m.reliability.n} readings</text></svg>`;
}

const bucketLabel = (i: number): string => {
  const lo = LEAD_BUCKETS_MS[i]!;
  const hi = LEAD_BUCKETS_MS[i + 1]!;
  return Number.isFinite(hi) ? `${lo / 1000}–${hi / 1000}s` : `≥${lo / 1000}s`;
};

/** Lead time (signal → outcome) histogram for correct BREAK and REJECT forecasts, side by side per bucket. */
export function leadSvg(m: Metrics): string {
  const nb = LEAD_BUCKETS_MS.length - 1;
  const W = 520;
  const H = 260;
  const pad = 40;
  const bw = (W - 2 * pad) / nb;
  const maxC = Math.max(1, ...m.lead.BREAK.histogram, ...m.lead.REJECT.histogram);
  const sy = (c: number) => (c / maxC) * (H - 2 * pad);
  let body = '';
  for (let i = 0; i < nb; i++) {
    const x = pad + i * bw;
    const b = m.lead.BREAK.histogram[i]!;
    const r = m.lead.REJECT.histogram[i]!;
    body += `<rect x="${(x + 2).toFixed(1)}" y="${(H - pad - sy(b)).toFixed(1)}" width="${(bw / 2 - 3).toFixed(1)}" height="${sy(b).toFixed(1)}" fill="#c0392b"><title>BREAK ${bucketLabel(i)}: ${b}</title></rect>`;
    body += `<rect x="${(x + bw / 2 + 1).toFixed(1)}" y="${(H - pad - sy(r)).toFixed(1)}" width="${(bw / 2 - 3).toFixed(1)}" height="${sy(r).toFixed(1)}" fill="#2471a3"><title>REJECT ${bucketLabel(i)}: ${r}</title></rect>`;
    body += `<text x="${(x + bw / 2).toFixed(1)}" y="${H - pad + 14}" font-size="10" text-anchor="middle">${bucketLabel(i)}</text>`;
  }
  return `<svg class="plot" id="lead-time" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">
<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#888"/>${body}
<text x="${pad}" y="${pad - 14}" font-size="12">lead time of correct forecasts (max bucket ${maxC}) — <tspan fill="#c0392b">BREAK n=${m.lead.BREAK.n}</tspan>, <tspan fill="#2471a3">REJECT n=${m.lead.REJECT.n}</tspan></text></svg>`;
}

/** Ablation: BREAK and REJECT precision / recall / F1 per variant as grouped bars. */
export function ablationSvg(variants: Partial<Record<AblationVariant, Metrics>>): string {
  const names = Object.keys(variants) as AblationVariant[];
  const series: { label: string; get: (m: Metrics) => number | null; color: string }[] = [
    { label: 'BREAK precision', get: (m) => m.BREAK.precision, color: '#e6b0aa' },
    { label: 'BREAK recall', get: (m) => m.BREAK.recall, color: '#cd6155' },
    { label: 'BREAK F1', get: (m) => m.BREAK.f1, color: '#922b21' },
    { label: 'REJECT precision', get: (m) => m.REJECT.precision, color: '#a9cce3' },
    { label: 'REJECT recall', get: (m) => m.REJECT.recall, color: '#5499c7' },
    { label: 'REJECT F1', get: (m) => m.REJECT.f1, color: '#1a5276' },
  ];
  const W = 640;
  const H = 300;
  const pad = 40;
  const gw = (W - 2 * pad) / Math.max(1, names.length);
  const bw = (gw - 12) / series.length;
  let body = '';
  names.forEach((n, gi) => {
    const m = variants[n]!;
    series.forEach((s, si) => {
      const v = s.get(m) ?? 0;
      const h = v * (H - 2 * pad);
      const x = pad + gi * gw + 6 + si * bw;
      body += `<rect x="${x.toFixed(1)}" y="${(H - pad - h).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${s.color}"><title>${n} ${s.label}: ${fmt(s.get(m), 3)}</title></rect>`;
    });
    body += `<text x="${(pad + gi * gw + gw / 2).toFixed(1)}" y="${H - pad + 16}" font-size="12" text-anchor="middle">${esc(n)}</text>`;
  });
  const legend = series.map((s, i) => `<rect x="${pad + i * 98}" y="8" width="10" height="10" fill="${s.color}"/><text x="${pad + i * 98 + 14}" y="17" font-size="10">${s.label}</text>`).join('');
  const grid = [0.25, 0.5, 0.7, 1].map((g) => `<line x1="${pad}" x2="${W - pad}" y1="${H - pad - g * (H - 2 * pad)}" y2="${H - pad - g * (H - 2 * pad)}" stroke="#eee"/><text x="${pad - 4}" y="${H - pad - g * (H - 2 * pad) + 4}" font-size="10" text-anchor="end">${g}</text>`).join('');
  return `<svg class="plot" id="ablation" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${grid}
<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#888"/>${legend}${body}</svg>`;
}

const prfRow = (name: string, p: PRF): (string | number)[] => [name, p.tp, p.fp, p.fn, fmt(p.precision, 3), fmt(p.recall, 3), fmt(p.f1, 3)];
const groupRows = (g: Record<string, GroupStats>) =>
  Object.entries(g).map(([k, s]) => [k, s.forecasts, s.correct, fmt(s.precision, 3), `${s.break_correct}/${s.break_forecasts}`, `${s.reject_correct}/${s.reject_forecasts}`]);

/** One row per variant: the headline figures (also printed on stdout and used in docs/eval.md). */
export function headlineRows(variants: Partial<Record<AblationVariant, Metrics>>): string[][] {
  return Object.entries(variants).map(([v, m]) => [
    v,
    String(m!.episodes.total),
    fmt(m!.BREAK.precision, 3),
    fmt(m!.BREAK.recall, 3),
    fmt(m!.BREAK.f1, 3),
    fmt(m!.REJECT.precision, 3),
    fmt(m!.REJECT.recall, 3),
    fmt(m!.REJECT.f1, 3),
    fmt(m!.reliability.ece, 3),
    fmt(m!.signals.per_hour, 1),
    fmt(m!.quiet.false_per_hour, 1),
    fmt(m!.lead.BREAK.p50_ms === null ? null : m!.lead.BREAK.p50_ms / 1000, 1),
  ]);
}
export const HEADLINE_HEAD = ['variant', 'episodes', 'BREAK P', 'BREAK R', 'BREAK F1', 'REJECT P', 'REJECT R', 'REJECT F1', 'ECE', 'signals/h', 'quiet false/h', 'BREAK lead p50 s'];

export function renderReportHtml(r: EvalReport): string {
  const main = r.variants.all ?? Object.values(r.variants)[0]!;
  const src =
    r.source.kind === 'sim'
      ? `simulator, seeds ${r.source.seeds!.join(', ')}, ${(r.source.duration_ms! / 60_000).toFixed(1)} min each, regime ${r.source.regime}, underlying ${r.source.underlying}`
      : `input ${r.source.input}, underlying ${r.source.underlying}`;
  const conf = table(
    ['outcome \\ forecast', 'BREAK', 'REJECT', 'NONE'],
    (['BREAK', 'REJECT', 'UNRESOLVED'] as const).map((o) => [o, main.confusion[o].BREAK, main.confusion[o].REJECT, main.confusion[o].NONE]),
  );
  const kinds = table(
    ['level kind', 'episodes', 'BREAK outcomes', 'REJECT outcomes', 'BREAK P', 'BREAK R', 'REJECT P', 'REJECT R'],
    Object.entries(main.by_level_kind).map(([k, s]) => [k, s.episodes, s.BREAK_outcomes, s.REJECT_outcomes, fmt(s.BREAK.precision, 3), fmt(s.BREAK.recall, 3), fmt(s.REJECT.precision, 3), fmt(s.REJECT.recall, 3)]),
  );
  const gh = ['value at the forecast', 'forecasts', 'correct', 'precision', 'BREAK correct/forecasts', 'REJECT correct/forecasts'];
  const lead = table(
    ['signal', 'n', 'mean s', 'p10 s', 'p50 s', 'p90 s'],
    (['BREAK', 'REJECT'] as const).map((t) => {
      const l = main.lead[t];
      const s = (x: number | null) => fmt(x === null ? null : x / 1000, 2);
      return [t, l.n, s(l.mean_ms), s(l.p10_ms), s(l.p50_ms), s(l.p90_ms)];
    }),
  );
  const defs = Object.entries(r.definitions).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('');
  const params = table(['parameter', 'value'], Object.entries(r.params).map(([k, v]) => [k, v]));
  const perSeed = r.per_seed
    ? `<h2>Per seed (all engines)</h2>${table(['seed', 'events', 'episodes', 'BREAK F1', 'REJECT P'], r.per_seed.map((s) => [s.seed ?? 'input', s.events, s.episodes, fmt(s.break_f1, 3), fmt(s.reject_precision, 3)]))}`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>snap-engine eval</title>
<style>body{font:14px/1.45 system-ui,sans-serif;margin:24px;max-width:1100px;color:#222}table{border-collapse:collapse;margin:8px 0 16px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
svg.plot{border:1px solid #eee;margin:8px 16px 8px 0;background:#fff}dt{font-weight:600;margin-top:6px}dd{margin-left:16px}code{background:#f4f4f4;padding:1px 4px}</style></head>
<body><h1>snap-engine eval — signal quality</h1>
<p>${esc(src)}. Hours of data: ${fmt(main.hours, 2)}. Command: <code>${esc(r.command)}</code></p>
<h2>Headline (per variant of the ablation)</h2>${table(HEADLINE_HEAD, headlineRows(r.variants))}
${
    r.baseline
      ? `<h2 id="before-after">Before / after</h2><p>Baseline: <code>${esc(r.baseline.file)}</code> (<code>${esc(r.baseline.command)}</code>).</p>${table(HEADLINE_HEAD, beforeAfterRows(r.baseline.headline, headlineRows(r.variants)))}`
      : ''
  }
<h2>Ablation: what each engine adds</h2><p>Each variant scores the same sessions with only that engine's weight (score.w_l / w_h / w_t = 1, others 0); <em>all</em> is the configured weights.</p>${ablationSvg(r.variants)}
<h2>Confusion matrix (episodes, all engines)</h2>${conf}
<p>Episodes: ${main.episodes.total} (BREAK ${main.episodes.BREAK}, REJECT ${main.episodes.REJECT}, UNRESOLVED ${main.episodes.UNRESOLVED}); with a forecast ${main.episodes.with_forecast}; both signals before the outcome ${main.episodes.mixed}.</p>
<h2>Per signal type</h2>${table(['signal', 'TP', 'FP', 'FN', 'precision', 'recall', 'F1'], [prfRow('BREAK', main.BREAK), prfRow('REJECT', main.REJECT)])}
<h2>Lead time (signal → outcome)</h2>${lead}${leadSvg(main)}
<h2>Reliability of break_score_smooth</h2>${reliabilitySvg(main)}
<h2>False signals in quiet regimes</h2>${table(
    ['quiet hours', 'signals', 'false signals', 'false/h', 'signals/h'],
    [[fmt(main.quiet.hours, 2), main.quiet.signals, main.quiet.false_signals, fmt(main.quiet.false_per_hour, 2), fmt(main.quiet.signals_per_hour, 2)]],
  )}
${
    main.quiet_regime
      ? `<h2 id="quiet-regime">Simulator quiet regime</h2><p>Ticks the simulator generated in its quiet regime (balanced book, no options flow; from its regime schedule): ${fmt(main.quiet_regime.hours, 2)} h with <strong>BREAK ${main.quiet_regime.BREAK}</strong> and <strong>REJECT ${main.quiet_regime.REJECT}</strong> signals (target: zero and zero).</p>`
      : ''
  }
<p>Signals are ${main.signals.source === 'events' ? "the engine's discrete BREAK/REJECT events" : main.signals.source === 'transitions' ? 'transitions of the per-tick signal into BREAK/REJECT (the engine emitted no events)' : 'events in some sessions and transitions in others'}: BREAK ${main.signals.BREAK}, REJECT ${main.signals.REJECT}.</p>
<p>All regimes: ${main.signals.total} signals (${fmt(main.signals.per_hour, 1)}/h), ${main.signals.false} false; ${fmt(main.signals.per_episode_with_signal, 2)} signals per episode that has any (flapping).</p>
${
    main.by_regime
      ? `<h2 id="by-regime">By simulator regime</h2><p>Episodes by the regime at their first tick; signals by the regime at their tick.</p>${table(
          ['regime', 'hours', 'episodes', 'BREAK outcomes', 'REJECT outcomes', 'BREAK P', 'BREAK R', 'REJECT P', 'REJECT R', 'BREAK signals', 'REJECT signals'],
          Object.entries(main.by_regime).map(([k, g]) => [k, fmt(g.hours, 2), g.episodes, g.BREAK_outcomes, g.REJECT_outcomes, fmt(g.BREAK.precision, 3), fmt(g.BREAK.recall, 3), fmt(g.REJECT.precision, 3), fmt(g.REJECT.recall, 3), g.signals.BREAK, g.signals.REJECT]),
        )}`
      : ''
  }
<h2>By level kind</h2>${kinds}
<h2>By barrier state at the forecast</h2>${table(gh, groupRows(main.by_barrier_state))}
<h2>By gamma (fuel) effect at the forecast</h2>${table(gh, groupRows(main.by_fuel_effect))}
<h2>By confidence at the forecast</h2>${table(gh, groupRows(main.by_confidence))}
${perSeed}
<h2>Definitions</h2><dl>${defs}</dl>
<h2>Parameters</h2>${params}
</body></html>
`;
}
