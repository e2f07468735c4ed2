// The dashboard: header (underlying, quote, zone switch, feed state), the price chart with the strip on its axis, the
// alerts log beside it, and the level table below. Everything comes from @snap/levels-ui; this file only arranges it.
import { ChangeDetectionStrategy, Component, DestroyRef, computed, effect, inject, signal } from '@angular/core';
import {
  LevelStreamService,
  LevelTableComponent,
  PriceChartComponent,
  SIGNAL_COLORS,
  eventMs,
  formatTime,
  zoneLabel,
  type LevelEvent,
  type LevelKind,
  type TimeZoneChoice,
} from '@snap/levels-ui';
import { AlertEffects, BASE_TITLE } from './alerts';

const KINDS: LevelKind[] = ['VWAP', 'STRIKE', 'ROUND', 'SESSION_HIGH', 'SESSION_LOW', 'CALL_WALL', 'PUT_WALL', 'HVL', 'USER'];

@Component({
  selector: 'snap-root',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [PriceChartComponent, LevelTableComponent],
  templateUrl: './app.component.html',
  styleUrl: './app.component.css',
})
export class AppComponent {
  protected readonly stream = inject(LevelStreamService);
  protected readonly kinds = KINDS;
  protected readonly colors = SIGNAL_COLORS;
  protected readonly tz = signal<TimeZoneChoice>((localStorage.getItem('snap.tz') as TimeZoneChoice | null) ?? 'UTC');
  protected readonly zone = computed(() => zoneLabel(this.tz()));

  protected readonly kindFilter = signal<LevelKind | 'ALL'>('ALL');
  protected readonly signalFilter = signal<'ALL' | 'BREAK' | 'REJECT'>('ALL');
  protected readonly minScore = signal(0);
  protected readonly sound = signal(false);
  protected readonly notify = signal(false);
  private readonly effects = new AlertEffects();

  protected readonly payload = this.stream.latest;
  protected readonly history = computed(() => {
    this.stream.revision();
    const u = this.stream.selected();
    // A fresh array reference each revision so OnPush inputs see the change; the points themselves are shared.
    return u ? [...this.stream.historyOf(u)] : [];
  });

  /** A BREAK's score is high when it is strong, a REJECT's low: "min score" means strength either way. */
  protected strengthOf(e: LevelEvent): number {
    return Math.round((e.signal === 'BREAK' ? e.break_score : 100 - e.break_score) * 100) / 100;
  }
  private passes(e: LevelEvent): boolean {
    return (
      (this.kindFilter() === 'ALL' || e.level_kind === this.kindFilter()) &&
      (this.signalFilter() === 'ALL' || e.signal === this.signalFilter()) &&
      this.strengthOf(e) >= this.minScore()
    );
  }
  protected readonly alerts = computed(() => this.stream.events().filter((e) => this.passes(e)));

  protected readonly connText = computed(() => {
    switch (this.stream.state()) {
      case 'live':
        return 'live';
      case 'delayed':
        return 'delayed · no tick';
      case 'ended':
        return 'feed ended · last tick shown';
      case 'down':
        return `disconnected · reconnecting in ${this.stream.retryInS()}s`;
      default:
        return 'connecting';
    }
  });

  constructor() {
    document.title = BASE_TITLE;
    effect(() => {
      document.body.dataset['conn'] = this.stream.state();
    });
    effect(() => {
      const p = this.payload();
      if (p) document.body.dataset['ts'] = String(p.ts);
    });
    effect(() => localStorage.setItem('snap.tz', this.tz()));
    const sub = this.stream.liveEvents.subscribe((e) => {
      if (this.passes(e)) this.effects.raise(e, this.describe(e));
    });
    inject(DestroyRef).onDestroy(() => sub.unsubscribe());
  }

  protected time(ms: number | undefined): string {
    return ms === undefined ? '—' : formatTime(ms, this.tz());
  }
  protected eventTime(e: LevelEvent): string {
    return formatTime(eventMs(e), this.tz());
  }
  protected describe(e: LevelEvent): string {
    return `${e.level_id} @ ${e.level_price.toFixed(2)} · score ${e.break_score.toFixed(0)} · ${e.confidence} · ${e.lead}: ${e.reason}`;
  }
  protected num(v: string): number {
    const n = Number(v);
    return Number.isFinite(n) ? Math.min(100, Math.max(0, n)) : 0;
  }
  protected async toggleNotify(on: boolean): Promise<void> {
    this.notify.set(on ? await this.effects.enableNotifications() : false);
    if (!on) this.effects.notify = false;
  }
  protected toggleSound(on: boolean): void {
    this.sound.set(on);
    this.effects.enableSound(on);
  }
  protected onKind(v: string): void {
    this.kindFilter.set(v as LevelKind | 'ALL');
  }
  protected onSignal(v: string): void {
    this.signalFilter.set(v as 'ALL' | 'BREAK' | 'REJECT');
  }
  protected onTz(v: string): void {
    this.tz.set(v as TimeZoneChoice);
  }
}
