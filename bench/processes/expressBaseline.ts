/**
 * The baseline for F3: a bare Express route answering a fixed JSON body (a recorded answer of
 * the product's detail route, so both serialize the same bytes), with none of the product's
 * middleware, authentication or database reads. Prints `listening <port>`.
 */
import express from 'express';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

const body: unknown = JSON.parse(readFileSync(process.argv[2] as string, 'utf8'));
const app = express();
app.get('/baseline', (_req, res) => {
  res.json(body);
});
const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
