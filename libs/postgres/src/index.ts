export * from './database';
export * from './migrations';
export * from './sql';
export * from './transaction';
export * from './leader';
export * from './postgres.module';
export * from './embedded';
