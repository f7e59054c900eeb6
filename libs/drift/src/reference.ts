import { throwNotImplemented } from './pending';
import type { BuildReferenceOptions, CurrentColumns, FeatureSpec, ReferenceProfile } from './types';
export function buildReference(specs: ReadonlyArray<FeatureSpec>, columns: CurrentColumns, options: BuildReferenceOptions = {}): ReferenceProfile { return throwNotImplemented(specs, columns, options); }
export function encodeReference(profile: ReferenceProfile): Buffer { return throwNotImplemented(profile); }
export function decodeReference(bytes: Buffer): ReferenceProfile { return throwNotImplemented(bytes); }
