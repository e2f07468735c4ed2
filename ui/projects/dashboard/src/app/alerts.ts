// The alert side effects a trader opts into: a short beep (Web Audio, no asset), a browser notification, and the tab
// title flashing. Only live events raise them (not those replayed from history on connect).
import type { LevelEvent } from '@snap/levels-ui';

export const BASE_TITLE = 'snap-engine · levels';

export class AlertEffects {
  sound = false;
  notify = false;
  private audio: AudioContext | null = null;
  private flashTimer: ReturnType<typeof setInterval> | null = null;

  /** Asks for notification permission (must run from a user gesture); false when refused or unsupported. */
  async enableNotifications(): Promise<boolean> {
    if (typeof Notification === 'undefined') return false;
    const p = Notification.permission === 'default' ? await Notification.requestPermission() : Notification.permission;
    this.notify = p === 'granted';
    return this.notify;
  }

  enableSound(on: boolean): void {
    this.sound = on;
    // Browsers only let audio start from a user gesture: create the context now, while we have one.
    if (on && !this.audio && typeof AudioContext !== 'undefined') this.audio = new AudioContext();
  }

  raise(e: LevelEvent, text: string): void {
    this.flash(`${e.signal === 'BREAK' ? '▲' : '●'} ${e.signal} ${e.level_id}`);
    if (this.sound) this.beep(e.signal === 'BREAK' ? 880 : 523);
    if (this.notify && typeof Notification !== 'undefined' && Notification.permission === 'granted') {
      new Notification(`${e.signal} ${e.underlying} ${e.level_id}`, { body: text, tag: e.event_id });
    }
  }

  /** Alternates the tab title for ~10 s so a trader on another tab sees it. */
  private flash(msg: string): void {
    if (this.flashTimer) clearInterval(this.flashTimer);
    let n = 0;
    document.title = `${msg} · ${BASE_TITLE}`;
    this.flashTimer = setInterval(() => {
      n++;
      document.title = n % 2 ? BASE_TITLE : `${msg} · ${BASE_TITLE}`;
      if (n >= 20) {
        clearInterval(this.flashTimer!);
        this.flashTimer = null;
        document.title = BASE_TITLE;
      }
    }, 500);
  }

  private beep(freq: number): void {
    const ctx = this.audio;
    if (!ctx) return;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.15, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.25);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.25);
  }
}
