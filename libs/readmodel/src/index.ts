export * from './batched';
export * from './orm';
export * from './projection';
export * from './read-model.module';
