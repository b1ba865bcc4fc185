import { ProgressReporter, clearingProgress, type ProgressStream } from '../../src/commands/progress';
import { MemoryLogger } from '../../src/log';
import { runWorkflow, type RunProgress } from '../../src/run/runWorkflow';
import { simulator, Teardown } from '../support/harness';
import { cli, loadWorkflow, workflowPath } from './support';

const td = new Teardown();
afterEach(() => td.run());

function stream(isTTY: boolean): ProgressStream & { text: string } {
  const s = {
    isTTY,
    columns: 60,
    text: '',
    write(chunk: string) {
      s.text += chunk;
      return true;
    },
  };
  return s;
}

const step = (phase: RunProgress['phase'], percentage?: number): RunProgress => ({
  itemId: 7,
  nodeId: 'denoise',
  nodeType: 'denoise_latents',
  phase,
  ...(percentage === undefined ? {} : { percentage }),
});

describe('run progress', () => {
  it('on a terminal: one line rewritten in place, with a bar, cut to the width, cleared at the end', () => {
    const out = stream(true);
    const p = new ProgressReporter({ out, log: new MemoryLogger(), env: { TERM: 'xterm-256color' } });
    p.update(step('started'));
    p.update(step('progress', 0.5));
    expect(out.text).not.toContain('\n');
    const frames = out.text.split('\r\x1b[K').filter(Boolean);
    expect(frames).toEqual(['item 7: denoise_latents denoise started', '[##########..........] item 7: denoise_latents denoise prog']);
    p.clear();
    expect(out.text.endsWith('\r\x1b[K')).toBe(true);
    p.clear();
    expect(out.text.split('\r\x1b[K')).toHaveLength(4);
  });

  it('on a terminal: a log line first clears the live line', () => {
    const out = stream(true);
    const mem = new MemoryLogger();
    const p = new ProgressReporter({ out, log: mem, env: {} });
    const log = clearingProgress(mem, p).child('x');
    p.update(step('started'));
    log.warn('something');
    expect(out.text.endsWith('started\r\x1b[K')).toBe(true);
    expect(mem.lines).toEqual([{ level: 'warn', msg: 'something', ns: 'x' }]);
  });

  it.each([
    ['not a terminal', false, 'xterm'],
    ['a terminal with TERM=dumb', true, 'dumb'],
  ])('on %s: log lines, at most one per interval (errors always), never an escape code', (_what, isTTY, term) => {
    const out = stream(isTTY);
    const mem = new MemoryLogger();
    let now = 1000;
    const p = new ProgressReporter({ out, log: mem, intervalMs: 2000, now: () => now, env: { TERM: term } });
    expect(p.live).toBe(false);
    p.update(step('started'));
    now += 500;
    p.update(step('progress', 0.25));
    now += 500;
    p.update(step('error'));
    now += 1500;
    p.update(step('progress', 0.75));
    now += 10;
    p.update(step('complete'));
    p.clear();
    expect(mem.lines).toEqual([
      { level: 'info', ns: 'progress', msg: 'item 7: denoise_latents denoise started' },
      { level: 'info', ns: 'progress', msg: 'item 7: denoise_latents denoise error' },
      { level: 'info', ns: 'progress', msg: 'item 7: denoise_latents denoise progress 75%' },
    ]);
    expect(out.text).toBe('');
  });

  it('library: onProgress sees the nodes of its own items start, progress and complete', async () => {
    const sim = await simulator(td, { nodeDelayMs: 5, progressSteps: 2 });
    const seen: RunProgress[] = [];
    const { items } = await runWorkflow({ url: sim.url, workflow: loadWorkflow('sdxl-text-to-image'), onProgress: (p) => seen.push(p) });
    expect(new Set(seen.map((p) => p.itemId))).toEqual(new Set([items[0]!.item_id]));
    expect(new Set(seen.map((p) => p.phase))).toEqual(new Set(['started', 'progress', 'complete']));
    expect(seen.find((p) => p.phase === 'progress')).toMatchObject({ nodeId: 'denoise_latents:TRC0Y88EWe', nodeType: 'denoise_latents' });
    expect(seen.filter((p) => p.phase === 'complete').map((p) => p.nodeId)).toContain('canvas_output:JbPTiAJ26r');
  });

  it('CLI: progress on stderr as log lines (timestamp, level) when it is not a terminal; --quiet: warnings and errors only', async () => {
    const sim = await simulator(td, { nodeDelayMs: 30, progressSteps: 2 });
    const loud = cli(td, ['run', '--url', sim.url, '--workflow', workflowPath('sdxl-text-to-image')]);
    const quiet = cli(td, ['run', '--url', sim.url, '--workflow', workflowPath('sdxl-text-to-image'), '--quiet']);
    expect(await loud.exited).toBe(0);
    expect(await quiet.exited).toBe(0);
    const stderr = loud.stderr().split('\n').filter(Boolean);
    for (const line of stderr) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (error|warn|info|debug) /);
    const lines = stderr.filter((l) => / info \[progress\] /.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    // periodic, not one per event: the run has 12 nodes and several progress steps
    expect(lines.length).toBeLessThanOrEqual(3);
    expect(lines[0]).toMatch(/^\S+ info \[progress\] item \d+: \w+ \S+ started$/);
    expect(stderr.some((l) => / info enqueued 1 item/.test(l))).toBe(true);
    expect(quiet.stderr()).toBe('');
    for (const r of [loud, quiet]) expect(r.records().map((x) => x['type'])).toEqual(['image', 'item']);
  });
});
