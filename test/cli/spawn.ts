import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';

export const CLI = join(__dirname, '../../dist/cli.js');

export interface Spawned {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  /** Stdout lines parsed as JSON (throws on a line that is not). */
  records: () => Record<string, unknown>[];
  exited: Promise<number | null>;
  /** Resolves once stdout satisfies `test`. */
  waitFor: (test: (records: Record<string, unknown>[]) => boolean, ms?: number) => Promise<void>;
}

/** Runs the built CLI (or another build's, `cli`); stdin is closed, env is explicit (no INVOKEAI_* leaking in from the caller). */
export function runCli(args: string[], env: Record<string, string> = {}, cli = CLI): Spawned {
  const child = spawn(process.execPath, [cli, ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: 'pipe',
  });
  child.stdin.end();
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const records = (): Record<string, unknown>[] =>
    out
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const waitFor = (test: (r: Record<string, unknown>[]) => boolean, ms = 10000): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        try {
          if (test(records())) {
            cleanup();
            resolve();
          }
        } catch {
          /* a partial line: wait for more */
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out; stdout so far:\n${out}\nstderr:\n${err}`));
      }, ms);
      const cleanup = (): void => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      void exited.then(() => {
        check();
        if (listeners.has(check)) {
          cleanup();
          reject(new Error(`exited before the condition held; stdout:\n${out}\nstderr:\n${err}`));
        }
      });
      check();
    });
  return { child, stdout: () => out, stderr: () => err, records, exited, waitFor };
}

/** A spawner whose processes are killed by the test's teardown. */
export function cliWith(td: { add<T>(thing: T, close: (t: T) => unknown): T }, cli = CLI) {
  return (args: string[], env?: Record<string, string>): Spawned =>
    td.add(runCli(args, env, cli), (s) => {
      if (s.child.exitCode === null) s.child.kill('SIGKILL');
      return s.exited;
    });
}

/** Waits until the daemon logged `times` connections (its "connected to …" lines on stderr). */
export async function connectedTimes(w: Spawned, times = 1, ms = 10000): Promise<void> {
  const until = Date.now() + ms;
  while ((w.stderr().match(/connected to/g) ?? []).length < times) {
    if (Date.now() > until) throw new Error(`not connected ${times}x; stderr:\n${w.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
