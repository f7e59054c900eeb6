/**
 * A reader for the part of the nats-server configuration format that ModelTrail's NATS configs
 * use (infra/nats/nats.conf and the cluster config in infra/k8s/nats-config.yaml), so that a test
 * can compare the two structurally: maps in braces, arrays in brackets, `key: value`,
 * `key = value` or `key value`, values separated by new lines, commas or semicolons, quoted and
 * bare strings, `$VARIABLE` references, `#` and `//` comments. Scalars stay text (`8MB`, `10s`,
 * `3` are kept as written); a variable reference becomes a NatsConfVariable. Anything outside
 * that subset (an `include`, a block string) is an error naming the line, never skipped.
 */

export type NatsConfValue = string | NatsConfVariable | NatsConfValue[] | NatsConfMap;
/** `$NAME`: the server reads the value from its environment. */
export class NatsConfVariable {
  constructor(readonly name: string) {}
}

export interface NatsConfMap {
  [key: string]: NatsConfValue;
}

export class NatsConfSyntaxError extends Error {
  constructor(message: string, line: number) {
    super(`line ${line}: ${message}`);
    this.name = 'NatsConfSyntaxError';
  }
}

export function parseNatsConf(text: string): NatsConfMap {
  return new Reader(text).mapBody(null);
}

/** The value at a dotted path of maps, or undefined. */
export function natsConfAt(conf: NatsConfMap, path: string): NatsConfValue | undefined {
  let current: NatsConfValue | undefined = conf;
  for (const key of path.split('.')) {
    if (!isMap(current)) return undefined;
    current = current[key];
  }
  return current;
}

export function isMap(value: NatsConfValue | undefined): value is NatsConfMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof NatsConfVariable);
}

const BARE_KEY = /[A-Za-z0-9_.$-]/;

class Reader {
  private i = 0;
  private line = 1;

  constructor(private readonly text: string) {}

  private fail(message: string): never {
    throw new NatsConfSyntaxError(message, this.line);
  }

  private peek(): string {
    return this.text[this.i] ?? '';
  }

  private next(): string {
    const c = this.text[this.i++] ?? '';
    if (c === '\n') this.line++;
    return c;
  }

  /** Skips spaces, tabs and comments; new lines too when `newlines`. */
  private skip(newlines: boolean): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\r' || (newlines && c === '\n')) this.next();
      else if (c === '#' || (c === '/' && this.text[this.i + 1] === '/')) while (this.peek() !== '\n' && this.peek() !== '') this.next();
      else return;
    }
  }

  /** Pairs up to `close` (or the end of the text when null). */
  mapBody(close: '}' | null): NatsConfMap {
    const map: NatsConfMap = {};
    for (;;) {
      this.skip(true);
      while (this.peek() === ',' || this.peek() === ';') {
        this.next();
        this.skip(true);
      }
      const c = this.peek();
      if (c === '') {
        if (close !== null) this.fail(`missing "${close}"`);
        return map;
      }
      if (c === close) {
        this.next();
        return map;
      }
      const key = this.key();
      if (key === 'include') this.fail('include is not supported here');
      this.skip(false);
      if (this.peek() === ':' || this.peek() === '=') this.next();
      this.skip(false);
      if (key in map) this.fail(`"${key}" appears twice in one block`);
      map[key] = this.value();
      this.skip(false);
      const after = this.peek();
      if (after !== '\n' && after !== ',' && after !== ';' && after !== '' && after !== close) this.fail(`unexpected "${after}" after the value of "${key}"`);
    }
  }

  private key(): string {
    const c = this.peek();
    if (c === '"' || c === "'") return this.quoted();
    let key = '';
    while (BARE_KEY.test(this.peek()) && this.peek() !== '') key += this.next();
    if (!key) this.fail(`expected a key, got "${c}"`);
    return key;
  }

  private value(): NatsConfValue {
    const c = this.peek();
    if (c === '{') {
      this.next();
      return this.mapBody('}');
    }
    if (c === '[') {
      this.next();
      return this.array();
    }
    if (c === '"' || c === "'") return this.quoted();
    if (c === '$') {
      this.next();
      let name = '';
      while (/[A-Za-z0-9_]/.test(this.peek()) && this.peek() !== '') name += this.next();
      if (!name) this.fail('expected a variable name after "$"');
      return new NatsConfVariable(name);
    }
    if (c === '(') this.fail('block strings are not supported here');
    let bare = '';
    // `//` starts a comment only after white space (`nats://host` is a value).
    while (!/[\n,;\]}#]/.test(this.peek()) && this.peek() !== '' && !(this.peek() === '/' && this.text[this.i + 1] === '/' && /\s/.test(this.text[this.i - 1] ?? ''))) bare += this.next();
    bare = bare.trim();
    if (!bare) this.fail('expected a value');
    return bare;
  }

  private array(): NatsConfValue[] {
    const items: NatsConfValue[] = [];
    for (;;) {
      this.skip(true);
      while (this.peek() === ',') {
        this.next();
        this.skip(true);
      }
      if (this.peek() === '') this.fail('missing "]"');
      if (this.peek() === ']') {
        this.next();
        return items;
      }
      items.push(this.value());
    }
  }

  private quoted(): string {
    const quote = this.next();
    let out = '';
    for (;;) {
      const c = this.next();
      if (c === '') this.fail('unterminated string');
      if (c === quote) return out;
      if (c === '\\' && quote === '"') {
        const escaped = this.next();
        out += escaped === 'n' ? '\n' : escaped === 't' ? '\t' : escaped;
      } else out += c;
    }
  }
}
