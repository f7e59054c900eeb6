import { CliError, errorFromGraphQL, errorFromNetwork, EXIT, exitCodeForGraphQLCode, redact } from './errors';
import { exitCodeForJobStatus } from './commands/jobs';
import { resolveConnection } from './client';

describe('exit codes', () => {
  it('maps GraphQL error codes to the documented exit codes', () => {
    expect(
      Object.fromEntries(['NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'CONFLICT', 'INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE', 'GRAPHQL_VALIDATION_FAILED'].map((c) => [c, exitCodeForGraphQLCode(c)])),
    ).toEqual({ NOT_FOUND: 3, UNAUTHENTICATED: 4, FORBIDDEN: 4, BAD_USER_INPUT: 1, CONFLICT: 1, INTERNAL_SERVER_ERROR: 1, SERVICE_UNAVAILABLE: 5, GRAPHQL_VALIDATION_FAILED: 1 });
    expect(exitCodeForGraphQLCode(undefined)).toBe(1);
  });

  it('takes the first GraphQL error\'s code and keeps every message with its code', () => {
    const error = errorFromGraphQL([
      { message: 'dataset x does not exist', extensions: { code: 'NOT_FOUND' } },
      { message: 'name must not be empty', extensions: { code: 'BAD_USER_INPUT' } },
    ]);
    expect(error).toBeInstanceOf(CliError);
    expect(error.exitCode).toBe(EXIT.NOT_FOUND);
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toBe('NOT_FOUND: dataset x does not exist\nBAD_USER_INPUT: name must not be empty');
  });

  it('names the URL and the reason when the API cannot be reached', () => {
    const refused = errorFromNetwork(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }), 'http://127.0.0.1:9/graphql');
    expect(refused.exitCode).toBe(EXIT.UNREACHABLE);
    expect(refused.message).toBe('cannot reach the API at http://127.0.0.1:9/graphql: connection refused (ECONNREFUSED) (set MODELTRAIL_URL or pass --url)');
    expect(errorFromNetwork(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ENOTFOUND' } }), 'http://nowhere.invalid/graphql').message).toMatch(/nowhere\.invalid.*unknown host/);
    expect(errorFromNetwork(Object.assign(new Error('aborted'), { name: 'TimeoutError' }), 'http://x/graphql').message).toMatch(/no answer in time/);
  });

  it('gives 0 for a succeeded job and 1 for one that failed, was cancelled or timed out', () => {
    expect(['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].map(exitCodeForJobStatus)).toEqual([0, 1, 1, 1]);
  });

  it('never prints the token', () => {
    expect(redact('Bearer s3cret refused; s3cret again', 's3cret')).toBe('Bearer <token> refused; <token> again');
    expect(redact('nothing secret', undefined)).toBe('nothing secret');
  });
});

describe('connection settings', () => {
  it('takes --url and --token over MODELTRAIL_URL and MODELTRAIL_TOKEN, and the local gateway by default', () => {
    expect(resolveConnection({}, { MODELTRAIL_TOKEN: 't' })).toEqual({ url: 'http://127.0.0.1:4000/graphql', token: 't' });
    expect(resolveConnection({}, { MODELTRAIL_URL: 'https://mt.example.com/graphql', MODELTRAIL_TOKEN: 't' })).toEqual({ url: 'https://mt.example.com/graphql', token: 't' });
    expect(resolveConnection({ url: 'http://h:1/graphql', token: 'u' }, { MODELTRAIL_URL: 'https://mt.example.com/graphql', MODELTRAIL_TOKEN: 't' })).toEqual({ url: 'http://h:1/graphql', token: 'u' });
  });

  it('says how to set a missing token (exit code 4), and refuses a URL that is not http(s) (exit code 2)', () => {
    expect(() => resolveConnection({}, {})).toThrow(expect.objectContaining({ exitCode: 4, message: expect.stringMatching(/MODELTRAIL_TOKEN.*--token/) }));
    expect(() => resolveConnection({ url: 'ftp://x' }, { MODELTRAIL_TOKEN: 't' })).toThrow(expect.objectContaining({ exitCode: 2 }));
    expect(() => resolveConnection({ url: 'not a url' }, { MODELTRAIL_TOKEN: 't' })).toThrow(expect.objectContaining({ exitCode: 2 }));
  });
});
