export * from './artifacts';
export * from './digest';
