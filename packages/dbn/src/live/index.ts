export * from './protocol';
export * from './client';
export * from './symbology';
export * from './fake-gateway';
