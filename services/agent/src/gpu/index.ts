export * from './command';
export * from './nvidia-smi';
export * from './probe';
