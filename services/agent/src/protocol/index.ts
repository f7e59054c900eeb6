export * from './batcher';
export * from './parser';
export * from './reader';
