// The §7 Level Strip: the nearest levels as rungs beside the price, spot as a line, and the nearest level's runway
// drawn from the level to its obstacle. Standalone it lays the rungs out on its own linear scale; overlaid on a chart
// (the plan's "overlay on existing visuals") it takes the chart's price→pixel mapping so every rung sits at its price
// on the chart's axis. Labels never overprint: rungs that would collide are pushed apart (and a thin leader keeps
// pointing at the true price).
import { ChangeDetectionStrategy, Component, computed, input } from '@angular/core';
import { signedPrice } from './format';
import { spreadLabels } from './layout';
import { SIGNAL_COLORS, type FeedState, type LevelPhysicsPayload, type LevelSignal } from './types';

/** Rung label height + gap (px): the minimum vertical distance between two labels. */
export const RUNG_PITCH = 18;

export interface Rung {
  level: LevelSignal;
  /** Where the price is (px from the top). */
  y: number;
  /** Where the label goes after de-overlapping. */
  labelY: number;
  color: string;
}

@Component({
  selector: 'snap-level-strip',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="strip" [class.stale]="state() !== 'live'" [style.height.px]="height()">
      @if (layout().spot; as sp) {
        <div class="spot-line" [style.top.px]="sp.y"></div>
        <div class="spot-label" [style.top.px]="sp.labelY">spot {{ payload()!.spy.spot.toFixed(2) }}</div>
      }
      @if (runway(); as rw) {
        <div class="runway" [class.obstructed]="rw.quality === 'OBSTRUCTED'" [style.top.px]="rw.top" [style.height.px]="rw.height" [attr.data-level-id]="rw.id" [title]="rw.title"></div>
      }
      @for (r of layout().rungs; track r.level.id) {
        <div class="leader" [style.top.px]="Math.min(r.y, r.labelY + pitch / 2)" [style.height.px]="Math.abs(r.y - r.labelY - pitch / 2)"></div>
        <div class="tick" [style.top.px]="r.y" [style.background]="r.color"></div>
        <div class="rung" [attr.data-level-id]="r.level.id" [attr.data-signal]="r.level.signal" [style.top.px]="r.labelY" [style.border-color]="r.color">
          <span class="name">{{ r.level.id }}</span>
          <span class="sig" [style.color]="r.color">{{ r.level.signal === 'NEUTRAL' ? '' : r.level.signal }}</span>
          <span class="score">{{ r.level.break_score_smooth.toFixed(0) }}</span>
        </div>
      }
    </div>
  `,
  styles: `
    :host { display: block; pointer-events: none; }
    .strip { position: relative; width: 100%; font-size: 11px; font-variant-numeric: tabular-nums; }
    .stale { opacity: 0.5; }
    .spot-line { position: absolute; left: 0; right: 0; border-top: 1px dashed var(--snap-accent, #6ea8fe); }
    .spot-label { position: absolute; left: 12px; right: 0; height: 16px; line-height: 16px; box-sizing: border-box; background: var(--snap-accent, #6ea8fe); color: #000; padding: 0 3px; z-index: 2; white-space: nowrap; overflow: hidden; }
    .tick { position: absolute; left: 0; width: 10px; height: 2px; margin-top: -1px; }
    .leader { position: absolute; left: 10px; width: 0; border-left: 1px dotted var(--snap-muted, #9a9caa); }
    .rung { position: absolute; left: 12px; right: 0; height: 16px; line-height: 14px; box-sizing: border-box; border-left: 3px solid; padding: 0 3px;
            background: var(--snap-panel, rgba(20, 22, 28, 0.88)); white-space: nowrap; overflow: hidden; display: flex; gap: 4px; }
    .rung .name { flex: 1 1 auto; overflow: hidden; text-overflow: ellipsis; }
    .rung .sig { font-weight: 700; }
    .rung .score { color: var(--snap-muted, #9a9caa); }
    .runway { position: absolute; left: 4px; width: 4px; background: #30a46c; opacity: 0.8; border-radius: 2px; }
    .runway.obstructed { background: #e5484d; }
  `,
})
export class LevelStripComponent {
  readonly payload = input<LevelPhysicsPayload | null>(null);
  readonly state = input<FeedState>('live');
  /** Height in px of the strip. */
  readonly height = input(240);
  /** How many of the nearest levels get a rung. */
  readonly count = input(5);
  /** Price → px from the top (a chart's price scale); null: the strip's own scale over its levels and spot. */
  readonly priceToY = input<((price: number) => number | null) | null>(null);
  /** Bumped by the host when its price scale moved (the mapping function itself stays the same). */
  readonly scaleRevision = input(0);

  protected readonly pitch = RUNG_PITCH;
  protected readonly Math = Math;

  private readonly mapping = computed(() => {
    this.scaleRevision();
    const p = this.payload();
    const external = this.priceToY();
    if (external) return external;
    if (!p) return null;
    const prices = [p.spy.spot, ...this.nearest().map((l) => l.price)];
    const lo = Math.min(...prices);
    const hi = Math.max(...prices);
    const pad = Math.max((hi - lo) * 0.1, 0.05);
    const h = this.height();
    return (price: number) => ((hi + pad - price) / (hi - lo + 2 * pad)) * h;
  });

  private readonly nearest = computed(() => {
    const p = this.payload();
    if (!p) return [];
    return [...p.levels].sort((a, b) => Math.abs(a.price - p.spy.spot) - Math.abs(b.price - p.spy.spot)).slice(0, this.count());
  });

  /** Spot and rung positions; the spot label takes part in the spreading, so nothing overprints it either. */
  readonly layout = computed<{ spot: { y: number; labelY: number } | null; rungs: Rung[] }>(() => {
    const p = this.payload();
    const map = this.mapping();
    if (!p || !map) return { spot: null, rungs: [] };
    const h = this.height();
    const inside = (y: number | null): y is number => y !== null && y >= 0 && y <= h;
    const sy = map(p.spy.spot);
    const placed = this.nearest()
      .map((level) => ({ level, y: map(level.price) }))
      .filter((r): r is { level: LevelSignal; y: number } => inside(r.y));
    const ys = placed.map((r) => r.y);
    if (inside(sy)) ys.push(sy);
    const labels = spreadLabels(ys, RUNG_PITCH, h);
    return {
      spot: inside(sy) ? { y: sy, labelY: labels[labels.length - 1]! } : null,
      rungs: placed.map((r, i) => ({ ...r, labelY: labels[i]!, color: SIGNAL_COLORS[r.level.signal] })),
    };
  });

  /** The nearest level's runway: a bar from the level to its next obstacle. */
  readonly runway = computed(() => {
    const map = this.mapping();
    const l = this.nearest()[0];
    if (!map || !l || !l.runway.next_obstacle) return null;
    const a = map(l.price);
    const b = map(l.runway.next_obstacle.price);
    if (a === null || b === null) return null;
    const h = this.height();
    const top = Math.max(0, Math.min(a, b));
    const bottom = Math.min(h, Math.max(a, b));
    if (bottom <= top) return null;
    return {
      id: l.id,
      top,
      height: bottom - top,
      quality: l.runway.quality,
      title: `runway ${l.runway.direction} ${signedPrice(l.runway.next_obstacle.price - l.price)} to ${l.runway.next_obstacle.id} (${l.runway.quality})`,
    };
  });
}
