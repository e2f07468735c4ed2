export * from './windows';
export * from './objects';
export * from './object-store';
export * from './redis-features';
export * from './signals-consumer';
export * from './lake-sink';
export * from './redis-sink';
export * from './testing';
