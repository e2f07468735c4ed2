// Formatting shared by the components: every time carries its zone, every distance its sign and unit.

export type TimeZoneChoice = 'UTC' | 'America/New_York';

const formatters = new Map<string, Intl.DateTimeFormat>();

function fmt(tz: TimeZoneChoice, withDate: boolean): Intl.DateTimeFormat {
  const key = `${tz}|${withDate}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hour12: false,
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      ...(withDate ? { month: 'short', day: '2-digit' } : {}),
    });
    formatters.set(key, f);
  }
  return f;
}

/** Short zone label: "UTC" or "NY". */
export function zoneLabel(tz: TimeZoneChoice): string {
  return tz === 'UTC' ? 'UTC' : 'NY';
}

/** "15:00:02 UTC" / "10:00:02 NY". */
export function formatTime(ms: number, tz: TimeZoneChoice, withZone = true): string {
  const t = fmt(tz, false).format(new Date(ms)).replace(/^24:/, '00:');
  return withZone ? `${t} ${zoneLabel(tz)}` : t;
}

export function formatDateTime(ms: number, tz: TimeZoneChoice): string {
  return `${fmt(tz, true).format(new Date(ms))} ${zoneLabel(tz)}`;
}

export function fixed(x: number | null | undefined, d: number): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  // No "-0.000": a value that rounds to zero is shown unsigned.
  return Math.abs(x) < 0.5 * 10 ** -d ? (0).toFixed(d) : x.toFixed(d);
}

/** "+0.38 $" / "−1.20 $": a price difference with its sign and unit (a real minus sign, so columns align). */
export function signedPrice(x: number | null | undefined, unit = '$'): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  const s = x > 0 ? '+' : x < 0 ? '−' : '±';
  return `${s}${Math.abs(x).toFixed(2)} ${unit}`;
}

/** 1.2k / 3.40M, signed when asked. */
export function compact(x: number | null | undefined, sign = false): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  const a = Math.abs(x);
  const body = a >= 1e9 ? `${(a / 1e9).toFixed(2)}B` : a >= 1e6 ? `${(a / 1e6).toFixed(2)}M` : a >= 1e3 ? `${(a / 1e3).toFixed(1)}k` : String(Math.round(a));
  return `${x < 0 ? '−' : sign && x > 0 ? '+' : ''}${body}`;
}
