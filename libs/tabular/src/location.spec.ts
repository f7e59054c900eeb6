import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ForbiddenError, ValidationError } from '@modeltrail/contracts';
import { localPath, ReadableRoots, resolveLocation } from './location';

describe('data locations', () => {
  it('treats absolute paths and file URIs as local files, normalised to a file URI', () => {
    expect(resolveLocation('/data/a b/../churn.csv')).toEqual({ kind: 'local', path: '/data/churn.csv', uri: 'file:///data/churn.csv' });
    expect(resolveLocation('file:///data/a%20b/churn.csv')).toEqual({ kind: 'local', path: '/data/a b/churn.csv', uri: 'file:///data/a%20b/churn.csv' });
  });

  it('records object stores and web locations as remote', () => {
    expect(resolveLocation('s3://bucket/churn.parquet')).toEqual({ kind: 'remote', uri: 's3://bucket/churn.parquet' });
    expect(resolveLocation('HTTPS://example.com/churn.csv')).toEqual({ kind: 'remote', uri: 'HTTPS://example.com/churn.csv' });
  });

  it('refuses relative paths, unknown schemes and malformed file URIs with the reason', () => {
    expect(() => resolveLocation('data/churn.csv')).toThrow(/is a relative path: give an absolute path or a file:\/\/ URI/);
    expect(() => resolveLocation('ftp://host/churn.csv')).toThrow(/unsupported scheme ftp:/);
    expect(() => resolveLocation('file://remote-host/churn.csv')).toThrow(ValidationError);
  });

  it('refuses to read a remote version', () => {
    expect(() => localPath('s3://bucket/x.csv', 'validate')).toThrow('cannot validate a remote dataset version (s3://bucket/x.csv)');
  });
});

describe('ReadableRoots', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'modeltrail-roots-'));
    mkdirSync(join(dir, 'data'));
    mkdirSync(join(dir, 'data-other'));
    writeFileSync(join(dir, 'data', 'in.csv'), 'a\n1\n');
    writeFileSync(join(dir, 'data-other', 'out.csv'), 'a\n1\n');
    symlinkSync(join(dir, 'data-other', 'out.csv'), join(dir, 'data', 'link.csv'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lets a service read files inside its roots, and missing ones for the reader to report', async () => {
    const roots = new ReadableRoots([join(dir, 'data')], 'monitoring');
    await expect(roots.check(join(dir, 'data', 'in.csv'))).resolves.toBeUndefined();
    await expect(roots.check(join(dir, 'data', 'missing.csv'))).resolves.toBeUndefined();
  });

  it('refuses a path outside the roots, a sibling sharing their prefix, or a link out of them, naming the service', async () => {
    const roots = new ReadableRoots([join(dir, 'data')], 'monitoring');
    const outside = join(dir, 'data-other', 'out.csv');
    await expect(roots.check(outside)).rejects.toThrow(ForbiddenError);
    await expect(roots.check(outside)).rejects.toThrow(`the monitoring service may not read ${outside}: it is outside the directories it reads from (DATA_ROOTS: ${roots.roots[0]})`);
    await expect(roots.check(join(dir, 'data', 'link.csv'))).rejects.toThrow(ForbiddenError);
    await expect(new ReadableRoots([], 'datasets').check(join(dir, 'data', 'in.csv'))).rejects.toThrow('the datasets service may not read');
  });
});
