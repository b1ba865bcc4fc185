import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { InvokeHttp } from '../../src/invoke/http';
import { serverEndpoints } from '../../src/invoke/url';

let server: Server | undefined;
let http: InvokeHttp | undefined;
afterEach(async () => {
  await http?.close();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
  http = undefined;
});

/** A server whose answers are scripted per request: [status, body] in order, the last one repeated. */
async function scripted(answers: [number, unknown, Record<string, string>?][]): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  server = createServer((req, res) => {
    const [status, body, headers] = answers[Math.min(hits, answers.length - 1)]!;
    hits += 1;
    req.resume();
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

const okSchema = z.looseObject({ ok: z.boolean() });

describe('InvokeHttp', () => {
  it('retries idempotent requests on 5xx and 429 (honouring Retry-After), then succeeds', async () => {
    const s = await scripted([[503, {}], [429, {}, { 'retry-after': '0' }], [200, { ok: true }]]);
    http = new InvokeHttp({ endpoints: serverEndpoints(s.url) });
    await expect(http.json('GET', '/x', okSchema)).resolves.toEqual({ ok: true });
    expect(s.hits()).toBe(3);
  });

  it('never retries a POST (enqueueing twice would run the work twice)', async () => {
    const s = await scripted([[503, { detail: 'busy' }], [200, { ok: true }]]);
    http = new InvokeHttp({ endpoints: serverEndpoints(s.url) });
    await expect(http.json('POST', '/x', okSchema, { body: {} })).rejects.toThrow(/HTTP 503 \(busy\)/);
    expect(s.hits()).toBe(1);
  });

  it('gives up after its retries with a one-line error naming the request', async () => {
    const s = await scripted([[502, {}]]);
    http = new InvokeHttp({ endpoints: serverEndpoints(s.url), maxRetries: 2 });
    await expect(http.json('GET', '/y', okSchema)).rejects.toThrow(/^GET \/y: HTTP 502$/);
    expect(s.hits()).toBe(3);
  });

  it('reports a response that is not what InvokeAI sends, and FastAPI 422 details', async () => {
    const s = await scripted([[200, { ok: 'yes' }], [422, { detail: [{ loc: ['body', 'batch', 'graph'], msg: 'Field required' }] }]]);
    http = new InvokeHttp({ endpoints: serverEndpoints(s.url) });
    await expect(http.json('GET', '/z', okSchema)).rejects.toThrow(/GET \/z: unexpected response at ok/);
    await expect(http.json('POST', '/z', okSchema, { body: {} })).rejects.toThrow(/HTTP 422 \(body\.batch\.graph: Field required\)/);
  });

  it('names an unreachable server', async () => {
    http = new InvokeHttp({ endpoints: serverEndpoints('http://127.0.0.1:1'), maxRetries: 0 });
    await expect(http.json('GET', '/app/version', okSchema)).rejects.toMatchObject({ code: 'UNREACHABLE' });
  });
});
