// @snap/levels-ui: drop-in Angular pieces for snap-engine's live level payloads (plan §7).
export * from './lib/types';
export * from './lib/format';
export * from './lib/layout';
export * from './lib/points';
export * from './lib/level-stream.service';
export * from './lib/level-table.component';
export * from './lib/level-strip.component';
export * from './lib/price-chart.component';
