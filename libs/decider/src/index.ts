export * from './command-handler';
export * from './decider';
