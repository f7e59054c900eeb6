import type { Cell } from './table';

/**
 * A streaming JSON Lines parser: one JSON object per line, LF or CRLF line ends, an optional
 * UTF-8 byte order mark. Blank lines (only whitespace) are skipped. Any line that is not a JSON
 * object is an error naming its physical line (1-based).
 */

export class JsonlSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly problem: string,
  ) {
    super(`line ${line} ${problem}`);
  }
}

export interface JsonlParserOptions {
  /** A line longer than this (in characters) is refused. Default 64 Mi. */
  readonly maxLineLength?: number;
}

export type JsonObject = Record<string, unknown>;

export class JsonlParser {
  private rest = '';
  private line = 0;
  private started = false;
  private readonly maxLineLength: number;

  constructor(
    private readonly onObject: (object: JsonObject, line: number) => void,
    options: JsonlParserOptions = {},
  ) {
    this.maxLineLength = options.maxLineLength ?? 64 * 1024 * 1024;
  }

  push(text: string): void {
    let buf = this.rest.length > 0 ? this.rest + text : text;
    if (!this.started && buf.length > 0) {
      this.started = true;
      if (buf.charCodeAt(0) === 0xfeff) buf = buf.slice(1);
    }
    // One native split per chunk (see CsvParser.consume for why not indexOf in a loop).
    const lines = buf.split('\n');
    const last = lines.length - 1;
    for (let k = 0; k < last; k++) this.parseLine(lines[k]);
    this.rest = lines[last];
    if (this.rest.length > this.maxLineLength) {
      throw new JsonlSyntaxError(this.line + 1, `is longer than ${this.maxLineLength} characters`);
    }
  }

  end(): void {
    const last = this.rest;
    this.rest = '';
    if (last.length > 0) this.parseLine(last);
  }

  private parseLine(text: string): void {
    this.line++;
    if (isBlank(text)) return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new JsonlSyntaxError(this.line, `is not valid JSON: ${(error as Error).message}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new JsonlSyntaxError(this.line, `is not a JSON object (it is ${describe(value)}); each line must hold one object such as {"column": value}`);
    }
    this.onObject(value as JsonObject, this.line);
  }
}

/** A JSON value as a cell: numbers, booleans and strings are kept, null is missing, anything nested is its JSON text. */
export function jsonCell(value: unknown): Cell {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return value;
    default:
      return JSON.stringify(value);
  }
}

function isBlank(text: string): boolean {
  if (text.length === 0) return true;
  const first = text.charCodeAt(0);
  // Only a line that starts with whitespace can be blank.
  if (first !== 32 && first !== 9 && first !== 13 && first !== 0xa0 && first !== 0xfeff && first !== 11 && first !== 12) return false;
  return text.trim().length === 0;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value;
}
