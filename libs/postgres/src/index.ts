export * from './database';
export * from './migrations';
export * from './sql';
export * from './transaction';
