import express from 'express';
import { errorHandler } from '../../src/api/errorHandler';
import { errorBodySchema } from '../../src/api/contract/responseSchemas';
import { isDatabaseUnavailable } from '../../src/db/unavailable';
import { serve } from '../support/httpClient';

describe('error handler', () => {
  it('answers an unexpected error with a generic 500 and no stack trace or internals', async () => {
    const app = express();
    app.get('/boom', () => {
      throw new TypeError("Cannot read properties of undefined (reading 'spec') at /srv/app/secret.ts:12");
    });
    app.use(errorHandler);
    const http = await serve(app, () => null);
    try {
      const response = await http.call('GET', '/boom');
      expect(response.status).toBe(500);
      expect(errorBodySchema.parse(response.body)).toEqual({ error: { code: 'internal', message: 'internal error; the details are in the server log' } });
      expect(response.text).not.toMatch(/secret\.ts|TypeError/);
    } finally {
      await http.close();
    }
  });
});

describe('database outage detection', () => {
  it.each([
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['server shutting down', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    ['connection exception class', Object.assign(new Error('connection failure'), { code: '08006' })],
    ['too many connections', Object.assign(new Error('sorry, too many clients already'), { code: '53300' })],
    ['connection terminated', new Error('Connection terminated unexpectedly')],
    ['all addresses refused', new AggregateError([Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })])],
  ])('treats %s as unavailable (503)', (_name, err) => expect(isDatabaseUnavailable(err)).toBe(true));

  it.each([
    ['a unique violation', Object.assign(new Error('duplicate key'), { code: '23505' })],
    ['a syntax error', Object.assign(new Error('syntax error at or near'), { code: '42601' })],
    ['a plain error', new Error('something else')],
    ['a non-error', 'ECONNREFUSED'],
  ])('treats %s as a defect (500)', (_name, err) => expect(isDatabaseUnavailable(err)).toBe(false));
});
