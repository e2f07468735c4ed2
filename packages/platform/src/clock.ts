// The one clock abstraction. The core never reads a clock; adapters stamp ts_recv_ns and pace replays through this.
export interface Clock {
  nowNs(): bigint;
  nowMs(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  nowNs: () => BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n),
  nowMs: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** A clock that only moves when told to: for tests and deterministic replays. */
export function manualClock(startNs = 0n): Clock & { advanceMs(ms: number): void } {
  let now = startNs;
  return {
    nowNs: () => now,
    nowMs: () => Number(now / 1_000_000n),
    sleep: async (ms) => {
      now += BigInt(Math.round(ms * 1e6));
    },
    advanceMs(ms) {
      now += BigInt(Math.round(ms * 1e6));
    },
  };
}
