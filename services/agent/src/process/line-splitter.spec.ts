import { LineSplitter, type SplitLine } from './line-splitter';

function split(chunks: Array<string | Buffer>, maxLineBytes = 16): SplitLine[] {
  const out: SplitLine[] = [];
  const splitter = new LineSplitter(maxLineBytes, (line) => out.push(line));
  for (const chunk of chunks) splitter.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  splitter.end();
  return out;
}
const whole = (...texts: string[]) => texts.map((text) => ({ text, truncated: false }));

describe('LineSplitter', () => {
  it('splits on newlines across chunks, drops a \\r before \\n, and emits an unterminated last line at the end', () => {
    expect(split(['a\nb', 'c\r\n', '\n', 'tail'])).toEqual(whole('a', 'bc', '', 'tail'));
    expect(split(['x\n'])).toEqual(whole('x'));
    expect(split([])).toEqual([]);
  });

  it('decodes a multi-byte character split between chunks', () => {
    const bytes = Buffer.from('héllo\n');
    expect(split([bytes.subarray(0, 2), bytes.subarray(2)])).toEqual(whole('héllo'));
  });

  it('keeps a line of exactly the limit whole, cuts a longer one at the limit and skips the rest up to its newline', () => {
    expect(split(['0123456789abcdef\nnext\n'])).toEqual(whole('0123456789abcdef', 'next'));
    expect(split(['0123456789abcdefXYZ', 'more more more', '\nnext\n'])).toEqual([{ text: '0123456789abcdef', truncated: true }, ...whole('next')]);
    expect(split(['0123456789abcdefX'])).toEqual([{ text: '0123456789abcdef', truncated: true }]);
  });

  it('never cuts a UTF-8 character in half', () => {
    // 15 ASCII bytes then a 3-byte character: 16 bytes would split it, so 15 are kept.
    expect(split(['abcdefghijklmno€€\n'])).toEqual([{ text: 'abcdefghijklmno', truncated: true }]);
    expect(split(['😀😀😀😀😀\n'])).toEqual([{ text: '😀😀😀😀', truncated: true }]);
  });

  it('refuses a silly limit', () => {
    expect(() => new LineSplitter(2, () => undefined)).toThrow(/at least 16/);
  });
});
