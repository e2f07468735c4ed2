export * from './assigner';
export * from './snapshot';
export * from './task';
export * from './metrics';
export * from './kafka-io';
export * from './processor';
export * from './parity';
export * from './replay';
