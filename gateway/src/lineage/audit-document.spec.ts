import { gzipSync } from 'node:zlib';
import { documentBody } from './audit-document';

describe('audit report documents from the lineage service', () => {
  const base = { format: 'JSON' as const, contentType: 'application/json; charset=utf-8', fileName: 'r.json', digest: 'a'.repeat(64) };

  it('passes a small body through, and unpacks a large one that travelled gzipped', () => {
    const text = JSON.stringify({ events: Array.from({ length: 5_000 }, (_, i) => ({ i, note: 'évènement ✓' })) });
    expect(documentBody({ ...base, body: text, encoding: 'identity' })).toBe(text);
    expect(documentBody({ ...base, body: gzipSync(text).toString('base64'), encoding: 'gzip+base64' })).toBe(text);
  });

  it('refuses a body that claims to be gzipped and is not', () => {
    expect(() => documentBody({ ...base, body: 'not gzip', encoding: 'gzip+base64' })).toThrow();
  });
});
