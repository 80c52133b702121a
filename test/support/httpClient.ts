import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or null for an empty or non-JSON body. */
  body: unknown;
  text: string;
}

export interface CallOptions {
  body?: string;
  type?: string;
  /** A bearer token; null sends no Authorization header. Defaults to the harness's alice. */
  token?: string | null;
  headers?: Record<string, string>;
}

/** Serves an Express app on an ephemeral port and calls it like a client would. */
export async function serve(app: Express, defaultToken: () => string | null) {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  async function call(method: string, path: string, options: CallOptions = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    const token = options.token === undefined ? defaultToken() : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers['content-type'] = options.type ?? 'application/yaml';
    const response = await fetch(`${url}${path}`, { method, headers, body: options.body });
    const text = await response.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    return { status: response.status, headers: response.headers, body, text };
  }
  return { url, call, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
