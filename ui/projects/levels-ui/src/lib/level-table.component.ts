// The §7 Level Table: one row per level near spot, nearest first, updated in place (rows are tracked by level id, so
// a tick changes text, never re-creates rows). A level that leaves the monitoring band stays, dimmed, for a short
// grace period in event time so edge levels do not blink; every row dims when the feed is not live (stale data).
import { ChangeDetectionStrategy, Component, computed, input } from '@angular/core';
import { compact, fixed, signedPrice } from './format';
import { SIGNAL_COLORS, type FeedState, type HistoryPoint, type LevelPhysicsPayload, type LevelSignal } from './types';

/** Event-time ms a departed level stays on screen. */
const GONE_GRACE_MS = 3000;
/** Sparkline span: the last this many history points (one per second). */
const SPARK_POINTS = 120;

export interface LevelRow {
  level: LevelSignal;
  /** level price − spot (negative: below spot). */
  signedDistance: number;
  gone: boolean;
  spark: string;
}

@Component({
  selector: 'snap-level-table',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <table class="levels" [class.stale]="stale()">
      <thead>
        <tr>
          <th>level</th>
          <th class="num">price</th>
          <th class="num" title="level price − spot">dist <span class="unit">$</span></th>
          <th class="score-col">break score <span class="unit">smooth / raw, 0–100</span></th>
          <th>signal</th>
          <th>barrier <span class="unit">Δliq sh</span></th>
          <th>fuel <span class="unit">net γ sh/$</span></th>
          <th>tape <span class="unit">vel $/s · imb</span></th>
          <th>runway</th>
        </tr>
      </thead>
      <tbody class="level-rows">
        @for (r of rows(); track r.level.id) {
          <tr [attr.data-level-id]="r.level.id" [attr.data-signal]="r.level.signal" [class.gone]="r.gone">
            <td class="lvl"><span class="kind">{{ r.level.id }}</span> <span class="dir">{{ r.level.direction === 'SUPPORT' ? 'sup' : 'res' }}</span></td>
            <td class="num">{{ r.level.price.toFixed(2) }}</td>
            <td class="num dist" [attr.data-value]="r.signedDistance">{{ signed(r.signedDistance) }}</td>
            <td class="score-col">
              <span class="score-smooth">{{ r.level.break_score_smooth.toFixed(1) }}</span>
              <span class="score-raw">/ {{ r.level.break_score_raw.toFixed(0) }}</span>
              <svg class="spark" viewBox="0 0 120 24" preserveAspectRatio="none" aria-hidden="true">
                <line x1="0" x2="120" y1="4.8" y2="4.8" class="th" />
                <line x1="0" x2="120" y1="19.2" y2="19.2" class="th" />
                <polyline [attr.points]="r.spark" />
              </svg>
            </td>
            <td>
              <span class="badge" [style.background]="color(r.level.signal)">{{ r.level.signal }}</span>
              <span class="conf">{{ r.level.confidence }}</span>
            </td>
            <td>{{ r.level.barrier.state }} <span class="muted">{{ compactSigned(r.level.barrier.delta_liq) }}</span></td>
            <td>{{ r.level.fuel.effect }} <span class="muted">{{ compactSigned(r.level.fuel.net_dealer_gamma) }}</span></td>
            <td>{{ fixed(r.level.tape.velocity, 3) }} · {{ fixed(r.level.tape.imbalance, 2) }}@if (r.level.tape.sweep.detected) { <span class="sweep">sweep {{ r.level.tape.sweep.direction }}</span>}</td>
            <td class="runway">
              {{ r.level.runway.direction === 'UP' ? '↑' : '↓' }}
              @if (r.level.runway.next_obstacle; as o) {
                {{ r.level.runway.quality }} {{ fixed(r.level.runway.distance, 2) }} $ to {{ o.id }}
              } @else {
                open
              }
            </td>
          </tr>
        }
      </tbody>
    </table>
    @if (!rows().length) {
      <p class="empty">waiting for the first snap tick…</p>
    }
  `,
  styles: `
    :host { display: block; overflow-x: auto; }
    table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 12px; }
    th, td { padding: 3px 5px; border-bottom: 1px solid var(--snap-grid, #2a2d36); text-align: left; vertical-align: middle; }
    th { font-weight: 600; color: var(--snap-muted, #9a9caa); }
    .unit { font-size: 10px; }
    .unit, .muted, .dir, .score-raw, .conf { color: var(--snap-muted, #9a9caa); font-weight: 400; }
    .unit, .muted, .dir, .score-raw, .conf, .sweep { margin-left: 0.35em; }
    .num { text-align: right; white-space: nowrap; }
    .lvl { white-space: nowrap; }
    .badge { color: #fff; border-radius: 3px; padding: 0 5px; font-size: 11px; font-weight: 700; }
    .spark { width: 56px; height: 18px; vertical-align: middle; margin-left: 4px; }
    .spark polyline { fill: none; stroke: var(--snap-accent, #6ea8fe); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
    .spark .th { stroke: var(--snap-grid, #3a3d46); stroke-dasharray: 2 2; vector-effect: non-scaling-stroke; }
    .sweep { color: #f5a524; }
    tr.gone, table.stale tbody tr { opacity: 0.45; }
    .empty { color: var(--snap-muted, #9a9caa); }
  `,
})
export class LevelTableComponent {
  readonly payload = input<LevelPhysicsPayload | null>(null);
  /** History points of the same underlying (for the sparklines); pass a new array reference (or revision) to refresh. */
  readonly history = input<readonly HistoryPoint[]>([]);
  readonly revision = input(0);
  readonly state = input<FeedState>('live');
  readonly stale = computed(() => this.state() !== 'live');

  private readonly shown = new Map<string, { level: LevelSignal; lastSeenTs: number }>();

  readonly rows = computed<LevelRow[]>(() => {
    const p = this.payload();
    this.revision();
    if (!p) return [];
    for (const l of p.levels) this.shown.set(l.id, { level: l, lastSeenTs: p.ts });
    for (const [id, s] of this.shown) if (p.ts - s.lastSeenTs > GONE_GRACE_MS || s.lastSeenTs > p.ts) this.shown.delete(id);
    const spot = p.spy.spot;
    const hist = this.history();
    const tail = hist.slice(-SPARK_POINTS);
    return [...this.shown.values()]
      .map(({ level, lastSeenTs }) => ({ level, signedDistance: level.price - spot, gone: lastSeenTs < p.ts, spark: sparkline(tail, level.id) }))
      .sort((a, b) => Math.abs(a.signedDistance) - Math.abs(b.signedDistance));
  });

  protected readonly fixed = fixed;
  protected readonly signed = (x: number) => signedPrice(x);
  protected readonly compactSigned = (x: number) => compact(x, true);
  protected color(s: LevelSignal['signal']): string {
    return SIGNAL_COLORS[s];
  }
}

/** SVG polyline points of a level's smoothed score over the given points (0–100 mapped onto the 24-unit height). */
export function sparkline(points: readonly HistoryPoint[], id: string): string {
  const out: string[] = [];
  const n = points.length;
  for (let i = 0; i < n; i++) {
    const l = points[i]!.levels.find((x) => x.id === id);
    if (!l) continue;
    const x = n === 1 ? 120 : (i / (n - 1)) * 120;
    out.push(`${x.toFixed(1)},${(24 - (l.score / 100) * 24).toFixed(1)}`);
  }
  return out.join(' ');
}
