import { throwNotImplemented } from './pending';
export function kolmogorovSurvival(lambda: number): number { return throwNotImplemented(lambda); }
export function ksTwoSample(sortedA: Float64Array, sortedB: Float64Array): { statistic: number; pValue: number } { return throwNotImplemented(sortedA, sortedB); }
export function wassersteinDistance(sortedA: Float64Array, sortedB: Float64Array): number { return throwNotImplemented(sortedA, sortedB); }
export function psi(refShares: ArrayLike<number>, curShares: ArrayLike<number>): number { return throwNotImplemented(refShares, curShares); }
export function chiSquareTest(refCounts: ArrayLike<number>, curCounts: ArrayLike<number>): { statistic: number; degreesOfFreedom: number; pValue: number } { return throwNotImplemented(refCounts, curCounts); }
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>): number { return throwNotImplemented(p, q); }
