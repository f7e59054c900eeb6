export * from './correlation';
export * from './graphql';
export * from './http';
export * from './logging';
export * from './metrics';
export * from './ops';
export * from './process';
export * from './tracing';
