import { throwNotImplemented } from './pending';
import type { CurrentColumns, FeatureSpec } from './types';
export type Cell = string | number | boolean | null | undefined;
export class ColumnCollector {
  constructor(readonly features: ReadonlyArray<FeatureSpec>, readonly options: { ignoreExtraColumns?: boolean } = {}) {}
  header(columns: ReadonlyArray<string>): void { throwNotImplemented(columns); }
  add(row: ReadonlyArray<Cell>): void { throwNotImplemented(row); }
  finish(): CurrentColumns { return throwNotImplemented(); }
}
