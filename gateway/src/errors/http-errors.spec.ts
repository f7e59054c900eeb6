import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { answerHttpErrors, httpRefusalOf, isJsonMediaType, requireJsonBody, sendRefusal } from './http-errors';

const NO_STACK = /stacktrace|\bat [^"]*\.(ts|js):\d+|\/work\/|node_modules/;

describe('refusals before GraphQL', () => {
  it('maps body-parser errors and Nest exceptions to a status, a code and a message naming no file', () => {
    const parse = Object.assign(new SyntaxError('Unexpected end of JSON input'), { status: 400, type: 'entity.parse.failed' });
    expect(httpRefusalOf(parse)).toEqual({ status: 400, code: 'BAD_USER_INPUT', message: 'the request body is not valid JSON: Unexpected end of JSON input' });
    const tooLarge = Object.assign(new Error('request entity too large'), { status: 413, type: 'entity.too.large' });
    expect(httpRefusalOf(tooLarge)).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE', message: expect.stringMatching(/^the request body is larger than the 9mb the gateway accepts/) });
    const charset = Object.assign(new Error('unsupported charset "UTF-16"'), { status: 415 });
    expect(httpRefusalOf(charset)).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    const notFound = { getStatus: () => 404, message: 'Cannot GET /nope' };
    expect(httpRefusalOf(notFound, { method: 'GET', url: '/nope?x=1' })).toMatchObject({ status: 404, code: 'NOT_FOUND', message: 'nothing is served at GET /nope: the API is POST /graphql (or GET /graphql for queries)' });
    const bug = new Error('ENOENT: no such file /work/main/dist/secret.js');
    expect(httpRefusalOf(bug)).toEqual({ status: 500, code: 'INTERNAL_SERVER_ERROR', message: 'internal error' });
    const decode = Object.assign(new Error("Failed to decode param '%E0%A4%A' at /work/main/node_modules/x/y.js:1:2\n    at z (/a/b.js:1:1)"), { status: 400 });
    const refusal = httpRefusalOf(decode);
    expect(refusal).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    expect(refusal.message).not.toMatch(NO_STACK);
  });

  it('knows JSON media types', () => {
    expect(['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/graphql-response+json'].map(isJsonMediaType)).toEqual([true, true, true, true]);
    expect(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/graphql', undefined].map(isJsonMediaType)).toEqual([false, false, false, false, false]);
  });

  describe('over HTTP', () => {
    let server: Server;
    let url: string;
    beforeAll(async () => {
      const chain = [requireJsonBody(), (req: IncomingMessage, _res: ServerResponse, next: (e?: unknown) => void) => (req.url === '/boom' ? next(Object.assign(new Error('bad /etc/passwd'), { status: 413 })) : req.url === '/bug' ? next(new TypeError('x is undefined at /work/main/dist/a.js:1:1')) : next())];
      const errors = answerHttpErrors();
      server = createServer((req, res) => {
        let index = 0;
        const next = (error?: unknown): void => {
          if (error !== undefined) return errors(error, req, res, next);
          const step = chain[index++];
          if (step) return step(req, res, next);
          sendRefusal(res, { status: 200 as never, code: 'BAD_REQUEST', message: 'passed' });
        };
        next();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('refuses a body that is not JSON with 415 and lets JSON and bodiless requests through', async () => {
      const form = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'query=%7B__typename%7D' });
      expect(form.status).toBe(415);
      expect(form.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await form.json()).toEqual({
        errors: [{ message: 'the request body must be JSON (content-type: application/json); the content type given is "application/x-www-form-urlencoded"', extensions: { code: 'UNSUPPORTED_MEDIA_TYPE', details: { contentType: 'application/x-www-form-urlencoded' } } }],
      });
      expect((await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(200);
      expect((await fetch(`${url}/graphql?query={__typename}`)).status).toBe(200);
    });

    it('answers an error of an earlier middleware as JSON', async () => {
      const response = await fetch(`${url}/boom`);
      expect(response.status).toBe(413);
      const text = await response.text();
      expect(JSON.parse(text).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
      expect(text).not.toMatch(NO_STACK);
    });

    it('answers a bug with 500 "internal error", its details only in the log', async () => {
      const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      try {
        const response = await fetch(`${url}/bug`);
        expect(response.status).toBe(500);
        expect(await response.json()).toEqual({ errors: [{ message: 'internal error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
        expect(logged).toHaveBeenCalledWith(expect.stringMatching(/^GET \/bug: x is undefined/), expect.stringMatching(/TypeError/));
      } finally {
        logged.mockRestore();
      }
    });
  });
});
