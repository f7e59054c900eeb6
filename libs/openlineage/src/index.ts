/**
 * OpenLineage 2-0-2 export of runs and jobs: RunEvent and facet types, a hand-written
 * validator against the 2-0-2 schema, naming, and builders from accumulated state to
 * RunEvents. Pure: no I/O. Conventions: libs/openlineage/README.md.
 */
export * from './types';
export * from './validate';
export * from './naming';
export * from './facets';
export * from './builders';
