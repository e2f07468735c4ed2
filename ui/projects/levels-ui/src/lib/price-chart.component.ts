// Spot over the session (TradingView lightweight-charts 5), every level near spot as a horizontal price line coloured
// by its signal, BREAK/REJECT events as markers, and the Level Strip overlaid on the price axis so each rung sits at its
// price. Zoom (wheel, pinch, axis drag) and pan (drag) over the session come with the chart; it follows the newest
// tick while the right edge is in view. The chart draws on canvas, so the host exposes what it drew as data-*
// attributes (points, lines, markers) for tests and for whoever embeds it.
import {
  AfterViewInit,
  ChangeDetectionStrategy,
  Component,
  ElementRef,
  OnDestroy,
  computed,
  effect,
  input,
  signal,
  viewChild,
} from '@angular/core';
import {
  ColorType,
  type AutoscaleInfo,
  LineSeries,
  LineStyle,
  createChart,
  createSeriesMarkers,
  type IChartApi,
  type IPriceLine,
  type ISeriesApi,
  type ISeriesMarkersPluginApi,
  type SeriesMarker,
  type Time,
  type UTCTimestamp,
} from 'lightweight-charts';
import { formatDateTime, formatTime, type TimeZoneChoice } from './format';
import { LevelStripComponent } from './level-strip.component';
import { SIGNAL_COLORS, eventMs, type FeedState, type HistoryPoint, type LevelEvent, type LevelPhysicsPayload } from './types';

/** Width (px) of the strip overlaid on the plot's right edge, beside the price axis. */
const STRIP_WIDTH = 170;
/** Default bar spacing (px per one-second point). */
const BAR_SPACING = 6;

@Component({
  selector: 'snap-price-chart',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [LevelStripComponent],
  host: {
    '[attr.data-points]': 'drawn().points',
    '[attr.data-lines]': 'drawn().lines',
    '[attr.data-markers]': 'drawn().markers',
    '[attr.data-first]': 'drawn().first',
    '[attr.data-visible-from]': 'visibleFrom()',
  },
  template: `
    <div class="chart" #chart></div>
    <snap-level-strip
      class="overlay"
      [style.right.px]="axisWidth()"
      [style.width.px]="stripWidth"
      [payload]="payload()"
      [state]="state()"
      [height]="plotHeight()"
      [priceToY]="priceToY"
      [scaleRevision]="scaleRevision()"
    />
  `,
  styles: `
    :host { display: block; position: relative; min-height: 240px; }
    .chart { position: absolute; inset: 0; }
    .overlay { position: absolute; top: 0; z-index: 3; }
  `,
})
export class PriceChartComponent implements AfterViewInit, OnDestroy {
  readonly payload = input<LevelPhysicsPayload | null>(null);
  readonly history = input<readonly HistoryPoint[]>([]);
  /** Bump when history (a mutable buffer) grew. */
  readonly revision = input(0);
  readonly events = input<readonly LevelEvent[]>([]);
  readonly state = input<FeedState>('live');
  readonly timeZone = input<TimeZoneChoice>('UTC');

  protected readonly stripWidth = STRIP_WIDTH;
  protected readonly axisWidth = signal(60);
  protected readonly plotHeight = signal(240);
  protected readonly scaleRevision = signal(0);
  /** Unix ms of the leftmost time in view (what zoom/pan show). */
  readonly visibleFrom = signal(0);
  readonly drawn = signal({ points: 0, lines: 0, markers: 0, first: 0 });

  private readonly host = viewChild.required<ElementRef<HTMLDivElement>>('chart');
  private chart: IChartApi | null = null;
  private series: ISeriesApi<'Line'> | null = null;
  private markers: ISeriesMarkersPluginApi<Time> | null = null;
  private readonly lines = new Map<string, IPriceLine>();
  /** Lowest and highest price of the levels in the band now (lo > hi: none). */
  private levelRange: [number, number] = [Infinity, -Infinity];
  private drawnFirstTs = -1;
  private drawnLastTs = -1;
  private drawnUnderlying: string | null = null;
  private ro: ResizeObserver | null = null;
  private fitMode = false;
  private readonly ready = signal(false);

  /** Price → px from the top of the plot, for the overlaid strip. */
  readonly priceToY = (price: number): number | null => this.series?.priceToCoordinate(price) ?? null;

  private readonly underlyingEvents = computed(() => {
    const u = this.payload()?.underlying;
    return u ? this.events().filter((e) => e.underlying === u) : [];
  });

  constructor() {
    effect(() => {
      if (!this.ready()) return;
      this.revision();
      this.drawHistory(this.history(), this.payload()?.underlying ?? null);
      if (this.fitMode) this.chart?.timeScale().fitContent();
      this.drawLines(this.payload());
      this.measure();
    });
    effect(() => {
      if (!this.ready()) return;
      this.drawMarkers(this.underlyingEvents());
    });
    effect(() => {
      if (!this.ready()) return;
      const tz = this.timeZone();
      this.chart?.applyOptions({
        localization: { timeFormatter: (t: Time) => formatDateTime((t as number) * 1000, tz) },
        timeScale: { tickMarkFormatter: (t: Time) => formatTime((t as number) * 1000, tz, false) },
      });
    });
  }

  ngAfterViewInit(): void {
    const el = this.host().nativeElement;
    const chart = createChart(el, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: 'transparent' }, textColor: '#9a9caa', fontSize: 11, attributionLogo: true },
      grid: { vertLines: { color: '#23262e' }, horzLines: { color: '#23262e' } },
      rightPriceScale: { borderColor: '#2a2d36', scaleMargins: { top: 0.12, bottom: 0.12 } },
      // The newest tick sits left of the overlaid strip, not under it (the offset is in bars, so it scales with zoom).
      timeScale: { borderColor: '#2a2d36', timeVisible: true, secondsVisible: true, barSpacing: BAR_SPACING, rightOffset: Math.ceil(STRIP_WIDTH / BAR_SPACING) + 2, shiftVisibleRangeOnNewBar: true },
      crosshair: { horzLine: { labelVisible: true }, vertLine: { labelVisible: true } },
    });
    this.chart = chart;
    this.series = chart.addSeries(LineSeries, {
      color: '#6ea8fe',
      lineWidth: 2,
      priceLineVisible: false,
      lastValueVisible: true,
      title: 'spot',
      // The visible price range covers the levels near spot too, not only spot's own path: a level line (and its
      // rung on the strip) must stay on screen while it is in the band.
      autoscaleInfoProvider: (base: () => AutoscaleInfo | null) => {
        const info = base();
        const [lo, hi] = this.levelRange;
        if (!info?.priceRange || lo > hi) return info;
        return { ...info, priceRange: { minValue: Math.min(info.priceRange.minValue, lo), maxValue: Math.max(info.priceRange.maxValue, hi) } };
      },
    });
    this.markers = createSeriesMarkers(this.series, []);
    chart.timeScale().subscribeVisibleLogicalRangeChange(() => this.measure());
    // The user's own pan or zoom ends "whole session" mode.
    for (const type of ['wheel', 'pointerdown', 'touchstart'] as const) el.addEventListener(type, () => (this.fitMode = false), { passive: true });
    this.ro = new ResizeObserver(() => this.measure());
    this.ro.observe(el);
    this.ready.set(true);
  }

  ngOnDestroy(): void {
    this.ro?.disconnect();
    this.chart?.remove();
    this.chart = null;
    this.series = null;
  }

  /** Zoom out to the whole session held (history included), and keep it whole as it grows until the user pans or zooms. */
  fitSession(): void {
    this.fitMode = true;
    this.chart?.timeScale().fitContent();
  }

  /** Back to the newest tick at the default zoom, following it. */
  followLive(): void {
    this.fitMode = false;
    const ts = this.chart?.timeScale();
    ts?.applyOptions({ barSpacing: BAR_SPACING });
    ts?.scrollToRealTime();
  }

  /** Plot height and axis width (so the strip sits just left of the price axis), and a nudge for the strip. */
  private measure(): void {
    const chart = this.chart;
    if (!chart) return;
    // Defer: the chart lays itself out on the next frame after data or size changes.
    requestAnimationFrame(() => {
      if (!this.chart) return;
      const ps = chart.priceScale('right');
      this.axisWidth.set(ps.width());
      this.plotHeight.set(Math.max(0, chart.paneSize().height));
      const range = chart.timeScale().getVisibleRange();
      this.visibleFrom.set(range ? (range.from as number) * 1000 : 0);
      this.scaleRevision.update((n) => n + 1);
    });
  }

  private drawHistory(points: readonly HistoryPoint[], underlying: string | null): void {
    const series = this.series;
    if (!series) return;
    const first = points[0]?.ts ?? -1;
    const toBar = (p: HistoryPoint) => ({ time: Math.floor(p.ts / 1000) as UTCTimestamp, value: p.spot });
    // A new underlying, or history that now starts earlier (loaded after live ticks): redraw it all. Otherwise
    // only the points after the last drawn one (update() replaces the bar of the same second).
    if (underlying !== this.drawnUnderlying || first !== this.drawnFirstTs) {
      series.setData(points.map(toBar));
      this.drawnUnderlying = underlying;
      this.drawnFirstTs = first;
    } else {
      // Points from the last drawn second on (update() replaces the bar of the same second, appends later ones).
      const lastSecond = Math.floor(this.drawnLastTs / 1000);
      let i = points.length;
      while (i > 0 && Math.floor(points[i - 1]!.ts / 1000) >= lastSecond) i--;
      for (let j = i; j < points.length; j++) series.update(toBar(points[j]!));
    }
    this.drawnLastTs = points.at(-1)?.ts ?? -1;
    this.drawn.update((d) => ({ ...d, points: points.length, first: points[0]?.ts ?? 0 }));
  }

  private drawLines(p: LevelPhysicsPayload | null): void {
    const series = this.series;
    if (!series) return;
    const keep = new Set<string>();
    const prices = (p?.levels ?? []).map((l) => l.price);
    this.levelRange = [Math.min(...prices), Math.max(...prices)];
    for (const l of p?.levels ?? []) {
      keep.add(l.id);
      const opts = {
        price: l.price,
        color: SIGNAL_COLORS[l.signal],
        lineWidth: (l.signal === 'NEUTRAL' ? 1 : 2) as 1 | 2,
        lineStyle: l.signal === 'NEUTRAL' ? LineStyle.Dashed : LineStyle.Solid,
        // The strip labels the levels (de-overlapped); axis labels of close levels would overprint each other.
        axisLabelVisible: false,
        title: '',
      };
      const line = this.lines.get(l.id);
      if (line) line.applyOptions(opts);
      else this.lines.set(l.id, series.createPriceLine(opts));
    }
    for (const [id, line] of this.lines) {
      if (!keep.has(id)) {
        series.removePriceLine(line);
        this.lines.delete(id);
      }
    }
    this.drawn.update((d) => ({ ...d, lines: this.lines.size }));
  }

  private drawMarkers(events: readonly LevelEvent[]): void {
    if (!this.markers) return;
    // Repeated calls at one level within a few seconds would print their texts over each other on the canvas:
    // the first of such a cluster carries the text, the rest only their arrows.
    const lastLabelled = new Map<string, number>();
    const ms: SeriesMarker<Time>[] = [...events]
      .sort((a, b) => eventMs(a) - eventMs(b))
      .map((e) => {
        const key = `${e.level_id}|${e.signal}`;
        const t = eventMs(e);
        const labelled = !(t - (lastLabelled.get(key) ?? -Infinity) < 15_000);
        if (labelled) lastLabelled.set(key, t);
        // BREAK of a support / REJECT of a resistance: price goes down → marker above the line, arrow down.
        const down = (e.signal === 'BREAK') === (e.direction === 'SUPPORT');
        return {
          time: Math.floor(eventMs(e) / 1000) as UTCTimestamp,
          position: down ? 'aboveBar' : 'belowBar',
          shape: down ? 'arrowDown' : 'arrowUp',
          color: SIGNAL_COLORS[e.signal],
          text: labelled ? `${e.signal === 'BREAK' ? 'B' : 'R'} ${e.level_id}` : '',
          id: e.event_id,
        } satisfies SeriesMarker<Time>;
      });
    this.markers.setMarkers(ms);
    this.drawn.update((d) => ({ ...d, markers: ms.length }));
  }
}
