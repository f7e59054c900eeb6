import type { IncomingMessage, ServerResponse } from 'node:http';
import { batchLimit } from './batch-limit';

function run(body: unknown, maxBatch = 10): { passed: boolean; status?: number; body?: unknown } {
  const sent: { status?: number; body?: unknown; headers: Record<string, unknown> } = { headers: {} };
  const res = {
    headersSent: false,
    set statusCode(status: number) {
      sent.status = status;
    },
    setHeader: (name: string, value: unknown) => (sent.headers[name] = value),
    end: (text: string) => (sent.body = JSON.parse(text)),
  } as unknown as ServerResponse;
  let passed = false;
  batchLimit({ access: { graphqlMaxBatch: maxBatch } } as never)({ body } as IncomingMessage & { body: unknown }, res, () => (passed = true));
  return { passed, status: sent.status, body: sent.body };
}

describe('batch limit', () => {
  it('lets single operations and batches up to GRAPHQL_MAX_BATCH through', () => {
    expect(run({ query: '{ __typename }' }).passed).toBe(true);
    expect(run(Array.from({ length: 10 }, () => ({ query: '{ __typename }' }))).passed).toBe(true);
    expect(run(undefined).passed).toBe(true);
  });

  it('refuses a longer batch with 400 BATCH_TOO_LARGE, naming the limit and the size', () => {
    const refused = run(Array.from({ length: 11 }, () => ({ query: '{ __typename }' })));
    expect(refused).toEqual({
      passed: false,
      status: 400,
      body: { errors: [{ message: 'this batch has 11 operations; the limit is 10 (GRAPHQL_MAX_BATCH): send the rest in another request', extensions: { code: 'BATCH_TOO_LARGE', details: { operations: 11, maxBatch: 10 } } }] },
    });
  });
});
