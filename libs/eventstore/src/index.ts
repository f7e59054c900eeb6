export * from './errors';
export * from './eventstoredb.event-store';
export * from './hashing';
export * from './memory.event-store';
export * from './postgres.event-store';
export { eventStoreMigrations } from './postgres.migrations';
export { SYSTEM_ACTOR } from './prepare';
export * from './types';
export * from './factory';
