export * from './collect';
