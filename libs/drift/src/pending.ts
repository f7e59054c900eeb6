export function throwNotImplemented(..._args: unknown[]): never { throw new Error('not implemented yet'); }
