export * from './catalog';
export * from './errors';
export * from './naming';
export * from './schema';
export * from './rpc';
export * from './datasets';
export * from './events';
