export * from './orm';
export * from './projection';
export * from './read-model.module';
export * from './set-projection';
export * from './table';
export * from './catch-up';
export * from './cursor';
