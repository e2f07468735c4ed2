import { ConfigError, parseConfig, processorInputs, underlyingConfig } from './config';

describe('per-underlying barrier source and futures contract (issue 11)', () => {
  it('maps SPY→ES, QQQ→NQ, IWM→RTY with their own multipliers', () => {
    const cfg = parseConfig({ underlyings: ['SPY', 'QQQ', 'IWM'], barrier: { source: 'mbp10' } });
    expect(underlyingConfig(cfg, 'SPY').basis).toMatchObject({ futures_symbol: 'ES', multiplier: 10 });
    expect(underlyingConfig(cfg, 'QQQ').basis).toMatchObject({ futures_symbol: 'NQ', multiplier: 41 });
    expect(underlyingConfig(cfg, 'IWM').basis).toMatchObject({ futures_symbol: 'RTY', multiplier: 10 });
  });

  it('the default SPY config is passed through unchanged (same object: engine output cannot move)', () => {
    const cfg = parseConfig({});
    expect(underlyingConfig(cfg, 'SPY')).toBe(cfg);
    const mbp = parseConfig({ barrier: { source: 'mbp10' } });
    expect(underlyingConfig(mbp, 'SPY')).toBe(mbp);
  });

  it('a per-underlying barrier source overrides barrier.source and pulls the futures topics in', () => {
    const cfg = parseConfig({ underlyings: ['SPY', 'QQQ'], futures: { barrier_sources: { QQQ: 'mbp10' } } });
    expect(underlyingConfig(cfg, 'SPY').barrier.source).toBe('l1');
    expect(underlyingConfig(cfg, 'QQQ').barrier.source).toBe('mbp10');
    expect(processorInputs(cfg)).toContain('futures.mbp10.v1');
  });

  it('refuses an MBP-10 barrier whose underlying has no futures symbol, naming the underlying and key', () => {
    let err: unknown;
    try {
      parseConfig({ underlyings: ['SPY', 'DIA'], barrier: { source: 'mbp10' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe('futures.contracts.DIA');
    expect((err as Error).message).toMatch(/barrier of DIA is mbp10/);
    // The same underlying on L1 is fine.
    expect(() => parseConfig({ underlyings: ['SPY', 'DIA'], barrier: { source: 'mbp10' }, futures: { barrier_sources: { DIA: 'l1' } } })).not.toThrow();
    expect(() => parseConfig({ futures: { contracts: { SPY: { symbol: '', multiplier: 10 } } } })).toThrow(/futures.contracts.SPY.symbol/);
  });
});
