/**
 * Writes examples/datasets/customer-churn.csv: 300 synthetic telecom customers plus 6 exact
 * duplicate rows, with a few missing values, for the README walkthrough and end-to-end tests
 * (validation, cleaning, a split stratified by `churned`). Deterministic: the same seed always
 * writes the same bytes.
 *
 *   npx tsc examples/datasets/generate-customer-churn.ts --outDir /tmp/churn --rootDir . --module commonjs \
 *     --target es2022 --types node && node /tmp/churn/examples/datasets/generate-customer-churn.js
 *
 * Columns: customer_id (unique integer, except in the duplicated rows), age (integer, about 4%
 * missing), tenure_months (integer 0–72), monthly_charges (number, about 2% missing), contract
 * (month-to-month / one-year / two-year, a few missing), country (category), churned (yes/no,
 * more likely on month-to-month contracts and short tenures; never missing).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
// The platform's own seeded generator (a plain relative import: this script compiles on its own).
import { mulberry32 } from '../../libs/contracts/src/random';

const SEED = 20240917;
const CUSTOMERS = 300;
const DUPLICATES = 6;

const random = mulberry32(SEED);
const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));
function pick<T>(choices: readonly [T, number][]): T {
  let r = random() * choices.reduce((sum, [, weight]) => sum + weight, 0);
  for (const [value, weight] of choices) {
    r -= weight;
    if (r < 0) return value;
  }
  return choices[choices.length - 1][0];
}

const CONTRACTS = [
  ['month-to-month', 55],
  ['one-year', 25],
  ['two-year', 20],
] as const satisfies readonly [string, number][];
const COUNTRIES = [
  ['US', 40],
  ['UK', 15],
  ['DE', 12],
  ['FR', 10],
  ['CA', 10],
  ['IN', 8],
  ['BR', 5],
] as const satisfies readonly [string, number][];

const header = ['customer_id', 'age', 'tenure_months', 'monthly_charges', 'contract', 'country', 'churned'];
const rows: string[][] = [];
for (let i = 0; i < CUSTOMERS; i++) {
  const contract = pick(CONTRACTS);
  const tenure = contract === 'month-to-month' ? between(0, 36) : contract === 'one-year' ? between(6, 60) : between(12, 72);
  const charges = 18 + random() * 70 + (contract === 'month-to-month' ? 15 : 0);
  const risk = (contract === 'month-to-month' ? 0.9 : contract === 'one-year' ? -0.8 : -1.8) - tenure / 30 + (charges - 60) / 60;
  const churned = random() < 1 / (1 + Math.exp(-risk)) ? 'yes' : 'no';
  rows.push([
    String(1001 + i),
    random() < 0.04 ? '' : String(between(18, 80)),
    String(tenure),
    random() < 0.02 ? '' : charges.toFixed(2),
    random() < 0.015 ? '' : contract,
    pick(COUNTRIES),
    churned,
  ]);
}
const copies = Array.from({ length: DUPLICATES }, () => [...rows[between(0, CUSTOMERS - 1)]]);
for (const copy of copies) rows.splice(between(0, rows.length), 0, copy);

const csv = [header, ...rows].map((row) => row.join(',')).join('\n') + '\n';
// Run from the repository root (see above); the compiled script no longer sits in examples/datasets.
const out = join(process.cwd(), 'examples', 'datasets', 'customer-churn.csv');
writeFileSync(out, csv);
console.log(`wrote ${out}: ${rows.length} rows`);
