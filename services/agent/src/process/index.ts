export * from './env';
export * from './group';
export * from './job-process';
export * from './line-splitter';
export * from './procfs';
export * from './state-file';
export * from './user';
