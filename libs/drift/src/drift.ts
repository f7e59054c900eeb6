import { throwNotImplemented } from './pending';
import type { CurrentColumns, DatasetDrift, DriftOptions, ReferenceProfile } from './types';
export function measureDrift(reference: ReferenceProfile, current: CurrentColumns, options: Partial<DriftOptions> = {}): DatasetDrift { return throwNotImplemented(reference, current, options); }
