export * from './logger';
export * from './clock';
export * from './config-loader';
export * from './config-doc';
export * from './parquet';
export * from './lake';
