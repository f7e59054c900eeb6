import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppConfig } from '@modeltrail/config';
import { sendRefusal } from '../errors/http-errors';

/**
 * Express middleware for the GraphQL path, after the JSON body parser: a batched request (a JSON
 * array of operations) longer than `config.access.graphqlMaxBatch` (GRAPHQL_MAX_BATCH) is refused
 * with HTTP 400 and a GraphQL error body, code BATCH_TOO_LARGE, naming the limit and the size;
 * anything else goes on (Apollo serves a batch only with `allowBatchedHttpRequests: true`).
 * Each operation of an accepted batch still meets the depth, alias and cost limits on its own.
 */
export function batchLimit(config: Pick<AppConfig, 'access'>): (req: IncomingMessage & { body?: unknown }, res: ServerResponse, next: (error?: unknown) => void) => void {
  const maxBatch = config.access.graphqlMaxBatch;
  return (req, res, next) => {
    const body = req.body;
    if (!Array.isArray(body) || body.length <= maxBatch) return next();
    sendRefusal(res, {
      status: 400,
      code: 'BATCH_TOO_LARGE',
      message: `this batch has ${body.length} operations; the limit is ${maxBatch} (GRAPHQL_MAX_BATCH): send the rest in another request`,
      details: { operations: body.length, maxBatch },
    });
  };
}
