import { jsonCell, JsonlParser, JsonlSyntaxError, type JsonObject } from './jsonl';

function parse(text: string, size = text.length || 1): { object: JsonObject; line: number }[] {
  const objects: { object: JsonObject; line: number }[] = [];
  const parser = new JsonlParser((object, line) => objects.push({ object, line }));
  for (let i = 0; i < text.length; i += size) parser.push(text.slice(i, i + size));
  parser.end();
  return objects;
}

describe('JsonlParser', () => {
  it('parses one object per line, skipping blank lines, with physical line numbers', () => {
    expect(parse('{"a":1}\n\n   \n{"a":2,"b":"x"}\r\n{"a":null}')).toEqual([
      { object: { a: 1 }, line: 1 },
      { object: { a: 2, b: 'x' }, line: 4 },
      { object: { a: null }, line: 5 },
    ]);
  });

  it('drops a byte order mark and works across any chunk size', () => {
    const text = '\uFEFF{"name":"é","n":[1,2]}\n{"name":"日本","n":{"k":true}}\n';
    const whole = parse(text);
    expect(whole).toEqual([
      { object: { name: 'é', n: [1, 2] }, line: 1 },
      { object: { name: '日本', n: { k: true } }, line: 2 },
    ]);
    for (let size = 1; size <= text.length; size++) expect(parse(text, size)).toEqual(whole);
  });

  it('names the line that is not valid JSON', () => {
    expect(() => parse('{"a":1}\n{"a":2}\n{"a":\n')).toThrow(JsonlSyntaxError);
    expect(() => parse('{"a":1}\n{"a":2}\n{"a":\n')).toThrow(/^line 3 is not valid JSON: /);
  });

  it('names the line that is JSON but not an object', () => {
    expect(() => parse('{"a":1}\n[1,2]\n')).toThrow('line 2 is not a JSON object (it is an array); each line must hold one object such as {"column": value}');
    expect(() => parse('"text"')).toThrow('line 1 is not a JSON object (it is a string)');
    expect(() => parse('{"a":1}\n\nnull')).toThrow('line 3 is not a JSON object (it is null)');
    expect(() => parse('42\n')).toThrow('line 1 is not a JSON object (it is a number)');
  });

  it('refuses a line longer than the limit', () => {
    const parser = new JsonlParser(() => undefined, { maxLineLength: 50 });
    expect(() => parser.push(`{"a":"${'x'.repeat(100)}`)).toThrow('line 1 is longer than 50 characters');
  });
});

describe('jsonCell', () => {
  it('keeps numbers, booleans and strings, makes null missing and nested values JSON text', () => {
    expect(jsonCell(3)).toBe(3);
    expect(jsonCell(2.5)).toBe(2.5);
    expect(jsonCell(false)).toBe(false);
    expect(jsonCell('x')).toBe('x');
    expect(jsonCell(null)).toBeNull();
    expect(jsonCell(undefined)).toBeNull();
    expect(jsonCell([1, 'a'])).toBe('[1,"a"]');
    expect(jsonCell({ k: { z: null } })).toBe('{"k":{"z":null}}');
  });
});
