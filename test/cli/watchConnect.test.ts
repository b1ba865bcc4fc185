import { runCli } from '../cli/spawn';
import { simulator, sleep, Teardown, watch } from '../support/harness';

const td = new Teardown();
afterEach(() => td.run());

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('watch, connecting', () => {
  it('says where it connects; a URL that is no InvokeAI API is said once, plainly, and retried', async () => {
    const sim = await simulator(td, { profile: '6.8' });
    const wrong = `${sim.url}/invoke`;
    const w = td.add(runCli(['watch', '--url', wrong]), (s) => (s.child.kill('SIGTERM'), s.exited));
    const message = `no InvokeAI API at ${wrong}/api/v1 (GET /app/version: 404) — wrong path prefix?; retrying`;
    await until(() => w.stderr().includes(message), 10_000, 'the wrong-prefix line');
    expect(w.stderr()).toMatch(new RegExp(` info connecting to ${wrong.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\n`));
    // The socket keeps trying (and failing) meanwhile; the line is not repeated.
    await sleep(1500);
    expect(w.stderr().split(message)).toHaveLength(2);
    expect(w.child.exitCode).toBeNull();
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(w.stdout()).toBe('');
  });

  it('the library says when a server goes away and what failed, naming the server', async () => {
    const sim = await simulator(td);
    const w = watch(td, { url: sim.url, backoff: { min: 50, max: 100 } });
    await w.connected;
    const disconnected = new Promise<[string, string]>((resolve) => w.watcher.once('disconnected', (server, reason) => resolve([server, reason])));
    const failed = new Promise<Error>((resolve) => w.watcher.once('error', resolve));
    await sim.stopListener();
    const [server, reason] = await disconnected;
    expect(server).toBe(sim.url);
    expect(reason).toMatch(/transport close|ping timeout|io server disconnect/);
    expect((await failed).message).toContain(sim.url);
    await sim.startListener();
    await new Promise<void>((resolve) => w.watcher.once('connected', () => resolve()));
  });
});
