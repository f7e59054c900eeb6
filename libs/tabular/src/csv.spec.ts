import { CsvParser, CsvSyntaxError, ownedText, parseCsv, type CsvField } from './csv';

/** Parses `text` pushed in pieces of `size` characters. */
function parseInPieces(text: string, size: number): { fields: CsvField[]; line: number }[] {
  const records: { fields: CsvField[]; line: number }[] = [];
  const parser = new CsvParser((fields, line) => records.push({ fields, line }));
  for (let i = 0; i < text.length; i += size) parser.push(text.slice(i, i + size));
  parser.end();
  return records;
}

const fields = (text: string) => parseCsv(text).map((record) => record.fields);

describe('CsvParser', () => {
  it('splits plain records on commas and line feeds', () => {
    expect(parseCsv('a,b,c\n1,2,3\n')).toEqual([
      { fields: ['a', 'b', 'c'], line: 1 },
      { fields: ['1', '2', '3'], line: 2 },
    ]);
  });

  it('accepts a last record without a final line end', () => {
    expect(fields('a,b\n1,2')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('handles CRLF line ends', () => {
    expect(fields('a,b\r\n1,2\r\n3,4')).toEqual([
      ['a', 'b'],
      ['1', '2'],
      ['3', '4'],
    ]);
    expect(fields('a,"b"\r\n"1",2\r\n')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('drops a UTF-8 byte order mark at the start only', () => {
    expect(fields('\uFEFFid,name\n1,\uFEFFx\n')).toEqual([
      ['id', 'name'],
      ['1', '\uFEFFx'],
    ]);
  });

  it('makes empty fields, quoted or not, missing (null)', () => {
    expect(fields('a,b,c\n,,\n1,"",3\n"",x,\n')).toEqual([
      ['a', 'b', 'c'],
      [null, null, null],
      ['1', null, '3'],
      [null, 'x', null],
    ]);
  });

  it('keeps commas, doubled quotes and line ends inside quoted fields', () => {
    expect(parseCsv('id,text,n\n1,"a, b",2\n2,"say ""hi""",3\n3,"two\nlines\r\nthree",4\n4,x,5\n')).toEqual([
      { fields: ['id', 'text', 'n'], line: 1 },
      { fields: ['1', 'a, b', '2'], line: 2 },
      { fields: ['2', 'say "hi"', '3'], line: 3 },
      { fields: ['3', 'two\nlines\r\nthree', '4'], line: 4 },
      { fields: ['4', 'x', '5'], line: 7 },
    ]);
  });

  it('keeps a quote inside an unquoted field as a character', () => {
    expect(fields('a,b\n5" tall,x\n')).toEqual([
      ['a', 'b'],
      ['5" tall', 'x'],
    ]);
  });

  it('reports blank lines as records without fields, so the caller decides', () => {
    expect(parseCsv('a\n\n1\r\n\r\n')).toEqual([
      { fields: ['a'], line: 1 },
      { fields: [], line: 2 },
      { fields: ['1'], line: 3 },
      { fields: [], line: 4 },
    ]);
  });

  it('keeps whitespace and a carriage return that is not part of a line end', () => {
    expect(fields(' a , b\r,c\n')).toEqual([[' a ', ' b\r', 'c']]);
  });

  it('gives the same records however the text is cut into chunks', () => {
    const text = '\uFEFFid,"quoted, field",note\r\n1,"multi\nline ""x""",\n2,,"end"\n\n3,plain,"a""b"\r\n4,"",last';
    const whole = parseCsv(text);
    expect(whole).toHaveLength(6);
    for (let size = 1; size <= text.length; size++) expect(parseInPieces(text, size)).toEqual(whole);
  });

  it('refuses a quoted field that is never closed, naming the line it opens on', () => {
    expect(() => parseCsv('a,b\n1,2\n3,"open\nstill open\n')).toThrow(new CsvSyntaxError(3, 'a quoted field is never closed (a " opens it and no " ends it before the end of the file)'));
    expect(() => parseInPieces('a,b\n1,"x', 3)).toThrow(/line 2: a quoted field is never closed/);
  });

  it('refuses text after a closing quote', () => {
    expect(() => parseCsv('a,b\n"x"y,2\n')).toThrow(/line 2: field 1 has text after its closing quote/);
    expect(() => parseCsv('a,b\n1,"x" \n')).toThrow(/line 2: field 2 has text after its closing quote/);
  });

  it('refuses a record longer than the limit instead of buffering the whole file', () => {
    const parser = new CsvParser(() => undefined, { maxRecordLength: 100 });
    parser.push('a,b\n1,"');
    expect(() => parser.push('x'.repeat(200))).toThrow(/line 2: a record is longer than 100 characters \(is a quote left open\?\)/);
  });

  it('counts physical lines across quoted line ends for later records', () => {
    const records = parseInPieces('h\n"a\n\nb"\nc\n', 2);
    expect(records).toEqual([
      { fields: ['h'], line: 1 },
      { fields: ['a\n\nb'], line: 2 },
      { fields: ['c'], line: 5 },
    ]);
  });
});

describe('ownedText', () => {
  it('returns an equal string', () => {
    const long = 'x'.repeat(1000).slice(3, 500);
    expect(ownedText(long)).toBe(long);
    expect(ownedText('short')).toBe('short');
    expect(ownedText('')).toBe('');
  });
});
