export * from './ordering';
export * from './sink';
export * from './producer';
export * from './pacing';
export * from './progress';
export * from './resume';
export * from './massive';
