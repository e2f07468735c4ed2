// The simulator: seeded, pure (no I/O, no clock, no Math.random). See market.ts for the world, scenarios.ts for
// the scripted level tests with ground truth, session.ts for the free-running session.
export * from './rng';
export * from './black-scholes';
export * from './market';
export * from './outcome';
export * from './scenarios';
export * from './session';
export * from './regimes';
