import { ValidationError } from '@modeltrail/contracts';
import { localPath, resolveLocation } from './location';

describe('dataset version locations', () => {
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
