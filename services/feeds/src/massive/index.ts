export * from './normalize';
export * from './strike-manager';
export * from './api-key';
export * from './ws-client';
export * from './rest-poller';
export * from './fake-market';
export * from './fake-server';
export * from './massive-feed';
