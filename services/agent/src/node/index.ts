export * from './agent';
export * from './capacity';
export * from './job-run';
export * from './retry';
export * from './session-file';
