export * from './events';
export * from './signals';
export * from './config';
export * from './event-id';
export * from './event-json';
