import { ValidationError, type ValidationReport, type ValidationRule } from '@modeltrail/contracts';
import { cellText, numericValue, ownedText, rowBatches, type Cell, type Table } from '@modeltrail/tabular';
import { hash32 } from './digest';

/**
 * Validation rules checked over a table in one streaming pass.
 *
 * Row numbers are 1-based data rows (a CSV header is not a row). Each result counts the failing
 * rows and lists the first 10 of them in file order.
 *
 * - NOT_NULL: a missing cell fails.
 * - RANGE: a present cell fails when it is a number outside [min, max] (either bound may be
 *   absent) or when it is not a number at all; missing cells are not checked.
 * - ALLOWED_VALUES: a present cell fails when its text is not one of `values` (exact,
 *   case-sensitive comparison).
 * - UNIQUE: a present cell fails when its text already appeared in an earlier row (the first
 *   occurrence passes). Memory: the texts seen are kept exactly up to 1,000,000 of them; beyond
 *   that each text is kept as a 64-bit hash (16 bytes per value in an open-addressing table),
 *   with which two different texts are taken for the same one with a probability of about
 *   n² / 2^65 over n values (under 3·10^-6 for 10 million values).
 * - REGEX: a present cell fails when its text does not match the whole pattern: the pattern is
 *   compiled as `^(?:pattern)$` with the `u` flag, so `[a-z]+` means "only lowercase letters",
 *   never "contains a lowercase letter".
 * - MAX_MISSING_FRACTION: fails when missing cells / rows exceeds `fraction` (an empty table
 *   passes); `failingRows` is the number of missing cells and the examples are the first
 *   missing rows, whether the rule passed or not.
 *
 * `passed` on the report is true when every rule passed.
 */

const EXAMPLE_ROWS = 10;
const EXAMPLE_VALUES = 3;
const EXACT_UNIQUE_LIMIT = 1_000_000;

export interface ValidateOptions {
  /** Texts a UNIQUE rule keeps exactly before it keeps 64-bit hashes instead. Default 1,000,000. */
  readonly exactUniqueLimit?: number;
}

export async function validateTable(table: Table, rules: ValidationRule[], options: ValidateOptions = {}): Promise<ValidationReport> {
  const problems = rules
    .map((rule, i) => unknownColumns(table.columns, [rule.column], ruleName(rule, i)))
    .filter((problem): problem is string => problem !== null);
  if (problems.length > 0) throw new ValidationError(`${problems.join('; ')}; ${columnList(table.columns)}`);

  const exactUniqueLimit = options.exactUniqueLimit ?? EXACT_UNIQUE_LIMIT;
  const checks = rules.map((rule, i) => ({ index: table.columns.indexOf(rule.column), check: checkerFor(rule, i, exactUniqueLimit) }));
  const width = table.columns.length;
  let rows = 0;
  for await (const batch of rowBatches(table.rows)) {
    for (const row of batch) {
      rows++;
      if (row.length !== width) throw new ValidationError(`row ${rows} has ${row.length} cells, the table has ${width} columns`);
      for (let r = 0; r < checks.length; r++) checks[r].check.add(row[checks[r].index], rows);
    }
  }
  const results = checks.map(({ check }, i) => ({ rule: rules[i], ...check.result(rows) }));
  return { passed: results.every((result) => result.passed), rowsChecked: rows, results };
}

/**
 * Throws a ValidationError naming every name in `names` that is not a column, what named it,
 * and the columns there are: `rule 2 (RANGE) names column "agee" which does not exist (did you
 * mean "age"?); columns are: id, age, tenure`.
 */
export function checkColumns(columns: readonly string[], names: string[], what: string): void {
  const problem = unknownColumns(columns, names, what);
  if (problem !== null) throw new ValidationError(`${problem}; ${columnList(columns)}`, { unknownColumns: names.filter((n) => !columns.includes(n)) });
}

function unknownColumns(columns: readonly string[], names: string[], what: string): string | null {
  const known = new Set(columns);
  const unknown = [...new Set(names.filter((name) => !known.has(name)))];
  if (unknown.length === 0) return null;
  const described = unknown.map((name) => {
    const near = closest(name, columns);
    return near === null ? `"${name}"` : `"${name}" (did you mean "${near}"?)`;
  });
  return unknown.length === 1
    ? `${what} names column ${described[0]} which does not exist`
    : `${what} names columns ${described.join(', ')} which do not exist`;
}

function columnList(columns: readonly string[]): string {
  const shown = columns.slice(0, 50).join(', ');
  return columns.length > 50 ? `columns are: ${shown}, … and ${columns.length - 50} more` : `columns are: ${shown}`;
}

/** The column whose name is nearest to `name` (case-insensitive edit distance at most 1, or 2 for names of 5 or more characters), if any. */
function closest(name: string, columns: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = name.length < 5 ? 2 : 3;
  for (const column of columns) {
    const distance = editDistance(name.toLowerCase(), column.toLowerCase(), bestDistance);
    if (distance < bestDistance) {
      best = column;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let previous = Array.from({ length: b.length + 1 }, (_unused, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

function ruleName(rule: ValidationRule, index: number): string {
  return `rule ${index + 1} (${rule.type})`;
}

// ---------------------------------------------------------------------------------------------
// Checkers
// ---------------------------------------------------------------------------------------------

interface Outcome {
  passed: boolean;
  failingRows: number;
  exampleRows: number[];
  observed: string;
}

abstract class Checker {
  protected failing = 0;
  protected readonly examples: number[] = [];

  abstract add(cell: Cell, row: number): void;
  abstract result(rows: number): Outcome;

  protected fail(row: number): void {
    this.failing++;
    if (this.examples.length < EXAMPLE_ROWS) this.examples.push(row);
  }

  protected outcome(passed: boolean, observed: string): Outcome {
    return { passed, failingRows: this.failing, exampleRows: [...this.examples], observed };
  }
}

function checkerFor(rule: ValidationRule, index: number, exactUniqueLimit: number): Checker {
  switch (rule.type) {
    case 'NOT_NULL':
      return new NotNullChecker();
    case 'RANGE':
      return new RangeChecker(rule.min ?? null, rule.max ?? null);
    case 'ALLOWED_VALUES':
      return new AllowedValuesChecker(rule.values);
    case 'UNIQUE':
      return new UniqueChecker(exactUniqueLimit);
    case 'REGEX':
      return new RegexChecker(rule.pattern, ruleName(rule, index));
    case 'MAX_MISSING_FRACTION':
      return new MissingFractionChecker(rule.fraction);
    default: {
      const unknown: never = rule;
      throw new ValidationError(`unknown validation rule ${JSON.stringify(unknown)}`);
    }
  }
}

class NotNullChecker extends Checker {
  add(cell: Cell, row: number): void {
    if (cell === null) this.fail(row);
  }

  result(rows: number): Outcome {
    if (this.failing === 0) return this.outcome(true, `no missing values in ${plural(rows, 'row')}`);
    return this.outcome(false, `${this.failing} of ${plural(rows, 'row')} ${this.failing === 1 ? 'is' : 'are'} missing a value`);
  }
}

class RangeChecker extends Checker {
  private outside = 0;
  private notNumeric = 0;
  private readonly notNumericExamples: string[] = [];
  private checked = 0;
  private low = Infinity;
  private high = -Infinity;

  constructor(
    private readonly min: number | null,
    private readonly max: number | null,
  ) {
    super();
  }

  add(cell: Cell, row: number): void {
    if (cell === null) return;
    this.checked++;
    const value = numericValue(cell);
    if (value === null) {
      this.notNumeric++;
      remember(this.notNumericExamples, cellText(cell));
      this.fail(row);
      return;
    }
    if (value < this.low) this.low = value;
    if (value > this.high) this.high = value;
    if ((this.min !== null && value < this.min) || (this.max !== null && value > this.max)) {
      this.outside++;
      this.fail(row);
    }
  }

  result(): Outcome {
    const bounds = this.min !== null && this.max !== null ? `[${this.min}, ${this.max}]` : this.min !== null ? `≥ ${this.min}` : `≤ ${this.max}`;
    const span = this.low <= this.high ? ` (observed min ${this.low}, max ${this.high})` : '';
    if (this.failing === 0) {
      return this.outcome(true, this.checked === 0 ? 'no values to check (every cell is missing)' : `all ${plural(this.checked, 'value')} are within ${bounds}${span}`);
    }
    const parts: string[] = [];
    if (this.outside > 0) parts.push(`${plural(this.outside, 'value')} ${this.outside === 1 ? 'is' : 'are'} outside ${bounds}${span}`);
    if (this.notNumeric > 0) parts.push(`${plural(this.notNumeric, 'value')} ${this.notNumeric === 1 ? 'is' : 'are'} not a number (e.g. ${quoted(this.notNumericExamples)})`);
    return this.outcome(false, parts.join('; '));
  }
}

class AllowedValuesChecker extends Checker {
  private readonly allowed: Set<string>;
  private readonly bad: string[] = [];

  constructor(private readonly values: string[]) {
    super();
    this.allowed = new Set(values);
  }

  add(cell: Cell, row: number): void {
    if (cell === null) return;
    const text = cellText(cell);
    if (this.allowed.has(text)) return;
    remember(this.bad, text);
    this.fail(row);
  }

  result(): Outcome {
    if (this.failing === 0) return this.outcome(true, `every present value is one of the ${plural(this.allowed.size, 'allowed value')}`);
    const allowed = this.values.length <= 10 ? ` (allowed: ${quoted(this.values)})` : '';
    return this.outcome(false, `${plural(this.failing, 'value')} ${this.failing === 1 ? 'is' : 'are'} not allowed, e.g. ${quoted(this.bad)}${allowed}`);
  }
}

class UniqueChecker extends Checker {
  private seen: Set<string> | null = new Set();
  private hashes: Hash64Set | null = null;
  private present = 0;
  private readonly repeated: string[] = [];

  constructor(private readonly exactLimit: number) {
    super();
  }

  add(cell: Cell, row: number): void {
    if (cell === null) return;
    this.present++;
    const text = cellText(cell);
    let fresh: boolean;
    if (this.seen !== null) {
      fresh = !this.seen.has(text);
      if (fresh) {
        if (this.seen.size < this.exactLimit) this.seen.add(ownedText(text));
        else {
          this.hashes = new Hash64Set(this.exactLimit * 4);
          for (const known of this.seen) this.hashes.add(known);
          this.seen = null;
          this.hashes.add(text);
        }
      }
    } else {
      fresh = this.hashes!.add(text);
    }
    if (!fresh) {
      remember(this.repeated, text);
      this.fail(row);
    }
  }

  result(): Outcome {
    if (this.failing === 0) return this.outcome(true, this.present === 0 ? 'no values to check (every cell is missing)' : `all ${plural(this.present, 'present value')} are distinct`);
    return this.outcome(false, `${plural(this.failing, 'value')} repeat${this.failing === 1 ? 's' : ''} a value of an earlier row, e.g. ${quoted(this.repeated)}`);
  }
}

class RegexChecker extends Checker {
  private readonly regex: RegExp;
  private readonly bad: string[] = [];

  constructor(pattern: string, what: string) {
    super();
    try {
      this.regex = new RegExp(`^(?:${pattern})$`, 'u');
    } catch (error) {
      throw new ValidationError(`${what} has an invalid regular expression: ${(error as Error).message}`);
    }
  }

  add(cell: Cell, row: number): void {
    if (cell === null) return;
    const text = cellText(cell);
    if (this.regex.test(text)) return;
    remember(this.bad, text);
    this.fail(row);
  }

  result(): Outcome {
    if (this.failing === 0) return this.outcome(true, `every present value matches ${this.regex.source}`);
    return this.outcome(false, `${plural(this.failing, 'value')} ${this.failing === 1 ? 'does' : 'do'} not match ${this.regex.source}, e.g. ${quoted(this.bad)}`);
  }
}

class MissingFractionChecker extends Checker {
  constructor(private readonly fraction: number) {
    super();
  }

  add(cell: Cell, row: number): void {
    if (cell === null) this.fail(row);
  }

  result(rows: number): Outcome {
    const observed = rows === 0 ? 0 : this.failing / rows;
    const passed = observed <= this.fraction;
    return this.outcome(passed, `missing fraction ${round(observed)} (${this.failing} of ${plural(rows, 'row')}) ${passed ? '≤' : '>'} ${this.fraction}`);
  }
}

function remember(examples: string[], text: string): void {
  if (examples.length < EXAMPLE_VALUES && !examples.includes(text)) examples.push(ownedText(text.length > 80 ? `${text.slice(0, 77)}...` : text));
}

function quoted(values: string[]): string {
  return values.map((value) => JSON.stringify(value)).join(', ');
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function round(value: number): number {
  return Number(value.toPrecision(4));
}

/**
 * A set of 64-bit string hashes (two independent 32-bit hashes) in open addressing over two
 * Uint32Arrays, kept at most half full: 16 bytes per value.
 */
export class Hash64Set {
  private high: Uint32Array;
  private low: Uint32Array;
  private count = 0;

  constructor(capacity = 1 << 16) {
    let size = 1 << 4;
    while (size < capacity) size <<= 1;
    this.high = new Uint32Array(size);
    this.low = new Uint32Array(size);
  }

  get size(): number {
    return this.count;
  }

  /** Adds the hash of `text`; false when it was already there. */
  add(text: string): boolean {
    return this.insert(hash32(text, 0x2545f491), hash32(text, 0x9e3779b9) || 1);
  }

  private insert(high: number, low: number): boolean {
    const mask = this.low.length - 1;
    let i = (low ^ Math.imul(high, 0x85ebca6b)) & mask;
    for (;;) {
      const slotLow = this.low[i];
      if (slotLow === 0) {
        this.high[i] = high;
        this.low[i] = low;
        if (++this.count * 2 > this.low.length) this.grow();
        return true;
      }
      if (slotLow === low && this.high[i] === high) return false;
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const high = this.high;
    const low = this.low;
    this.high = new Uint32Array(high.length * 2);
    this.low = new Uint32Array(low.length * 2);
    this.count = 0;
    for (let i = 0; i < low.length; i++) if (low[i] !== 0) this.insert(high[i], low[i]);
  }
}
