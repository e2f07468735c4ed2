// Core throughput on a long synthetic session (default 30 min of event time): events/s through SnapEngine, and as
// the in-run peer the raw rate of generating the same events and of merely iterating them. The ratio
// engine / generate says what the engine costs relative to producing its input.
//   npx tsx bench/core.ts [minutes] [seed]
import { defaultConfig, SnapEngine, simulateSession, type InputEvent } from '@snap/core';

const minutes = Number(process.argv[2] ?? 30);
const seed = Number(process.argv[3] ?? 1);
const cfg = defaultConfig();

const t0 = process.hrtime.bigint();
const events: InputEvent[] = [...simulateSession({ seed, durationMs: minutes * 60_000 })];
const t1 = process.hrtime.bigint();

// Peer 2: iterate the same array doing a trivial per-event read (a floor for any consumer).
let sink = 0n;
for (const ev of events) sink ^= ev.ts_event_ns;
const t2 = process.hrtime.bigint();

const engine = new SnapEngine(cfg, 'SPY');
let payloads = 0;
let rows = 0;
for (const ev of events) {
  for (const p of engine.push(ev)) {
    payloads++;
    rows += p.levels.length;
  }
}
const t3 = process.hrtime.bigint();

const s = (a: bigint, b: bigint) => Number(b - a) / 1e9;
const rate = (n: number, sec: number) => Math.round(n / sec);
const gen = s(t0, t1);
const iter = s(t1, t2);
const eng = s(t2, t3);
console.log(JSON.stringify({ bench: 'core', minutes, seed, events: events.length, payloads, signal_rows: rows, checksum: sink.toString(16).slice(-4) }));
console.log(`generate (simulator) : ${rate(events.length, gen).toLocaleString('en-US').padStart(12)} events/s  (${gen.toFixed(2)} s)`);
console.log(`iterate  (peer floor): ${rate(events.length, iter).toLocaleString('en-US').padStart(12)} events/s  (${iter.toFixed(3)} s)`);
console.log(`SnapEngine.push      : ${rate(events.length, eng).toLocaleString('en-US').padStart(12)} events/s  (${eng.toFixed(2)} s)`);
console.log(`ratio engine time / generate time = ${(eng / gen).toFixed(2)}  ·  engine time / iterate time = ${Math.round(eng / Math.max(iter, 1e-9))}`);
console.log(`event time per wall second through the engine: ${((minutes * 60) / eng).toFixed(0)}× real time`);
