export * from './regroup';
export * from './broadcaster';
export * from './server';
export * from './kafka-source';
export * from './gateway';
export * from './history';
