import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { enqueue, simulator, Teardown } from '../support/harness';
import { saveOne } from '../support/graphs';
import { connectedTimes, runCli } from '../cli/spawn';

/*
 * scripts/invokeai-outputs.service as systemd reads it (`systemd-analyze verify`, and its security rating where
 * systemd-analyze can rate a unit file offline), and its ExecStart line as the built CLI runs it.
 */
const UNIT = join(__dirname, '../../scripts/invokeai-outputs.service');
const text = readFileSync(UNIT, 'utf8');
const td = new Teardown();
afterEach(() => td.run());
const work = mkdtempSync(join(tmpdir(), 'ioo-systemd-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const analyze = (process.env['PATH'] ?? '').split(delimiter).map((d) => join(d, 'systemd-analyze')).find((p) => existsSync(p));
const withAnalyze = analyze ? it : it.skip;
const offlineSecurity = analyze ? /--offline/.test(spawnSync(analyze, ['security', '--help'], { encoding: 'utf8' }).stdout) : false;

/** The values of `Key=` lines in the [Service] section. */
function service(key: string): string[] {
  const section = text.slice(text.indexOf('[Service]'), text.indexOf('[Install]'));
  return [...section.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);
}

/** The unit under its own name in a folder of its own (systemd-analyze goes by the file name). */
function unitCopy(content = text): string {
  const dir = mkdtempSync(join(work, 'unit-'));
  const path = join(dir, 'invokeai-outputs.service');
  writeFileSync(path, content);
  return path;
}

describe('the systemd unit', () => {
  it('does not restart on bad usage, reads a config file and an environment file, writes records itself', () => {
    expect(service('RestartPreventExitStatus')).toEqual(['2']);
    expect(service('Restart')).toEqual(['always']);
    expect(service('LoadCredential')).toEqual(['config.json:/etc/invokeai-outputs/config.json']);
    expect(service('EnvironmentFile')).toEqual(['-/etc/invokeai-outputs/env']);
    // stdout into a folder systemd makes only after opening stdout fails on the first start: --output instead.
    expect(service('StandardOutput').join()).not.toMatch(/^(append|file|truncate):/);
    const exec = service('ExecStart')[0]!;
    expect(exec).toMatch(/ --output %L\/invokeai-outputs\/outputs\.ndjson/);
    expect(exec).toMatch(/ --config %d\/config\.json/);
    expect(service('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    expect(text).toMatch(/sudo npm install -g invokeai-outputs/);
  });

  withAnalyze('passes systemd-analyze verify without a warning', () => {
    const r = spawnSync(analyze!, ['verify', unitCopy()], { encoding: 'utf8' });
    expect({ code: r.status, out: r.stdout, err: r.stderr }).toEqual({ code: 0, out: '', err: '' });
    // The check is not vacuous: a broken copy fails it.
    const broken = spawnSync(analyze!, ['verify', unitCopy(text.replace('ExecStart=/usr/bin/env', 'ExecStart=/nonexistent/env'))], { encoding: 'utf8' });
    expect(broken.status).not.toBe(0);
  });

  (offlineSecurity ? it : it.skip)('rates an exposure below 5 in systemd-analyze security', () => {
    const r = spawnSync(analyze!, ['security', '--offline=true', '--no-pager', unitCopy()], { encoding: 'utf8' });
    const level = /Overall exposure level for invokeai-outputs\.service: (\d+\.\d+)/.exec(r.stdout)?.[1];
    expect(level).toBeDefined();
    expect(Number(level)).toBeLessThan(5);
  });

  it("runs its ExecStart line: config from the credential, cursor, records appended to --output", async () => {
    const sim = await simulator(td);
    const [cred, state, logs] = [join(work, 'credentials'), join(work, 'lib'), join(work, 'log')] as const;
    for (const d of [cred, join(state, 'invokeai-outputs'), join(logs, 'invokeai-outputs')]) mkdirSync(d, { recursive: true });
    writeFileSync(join(cred, 'config.json'), JSON.stringify({ url: sim.url }));
    const exec = service('ExecStart')[0]!.replace(/%d/g, cred).replace(/%S/g, state).replace(/%L/g, logs);
    const [env, bin, ...args] = exec.split(/\s+/);
    expect([env, bin]).toEqual(['/usr/bin/env', 'invokeai-outputs']);
    const w = td.add(runCli(args), (s) => {
      if (s.child.exitCode === null) s.child.kill('SIGKILL');
      return s.exited;
    });
    const out = join(logs, 'invokeai-outputs', 'outputs.ndjson');
    await connectedTimes(w);
    const { item_ids } = await enqueue(sim, saveOne());
    const deadline = Date.now() + 10_000;
    const records = (): Record<string, unknown>[] =>
      existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
    const recorded = (): boolean => records().some((r) => r['type'] === 'item');
    while (!recorded()) {
      if (Date.now() > deadline || w.child.exitCode !== null) throw new Error(`no item record in ${out}; stderr:\n${w.stderr()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(w.stdout()).toBe('');
    expect(records().filter((r) => r['type'] === 'item').map((r) => [r['server'], r['item_id']])).toEqual(item_ids.map((id) => [sim.url, id]));
    expect(existsSync(join(state, 'invokeai-outputs', 'state.json'))).toBe(true);
  });
});
