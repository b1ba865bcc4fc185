/* Child processes, /proc readings and small statistics for the benchmark. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '../..');
/** The CLI under test; BENCH_CLI points at another build (A/B comparisons). */
export const CLI = process.env['BENCH_CLI'] ?? join(ROOT, 'dist/cli.js');
export const now = (): number => performance.timeOrigin + performance.now();
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Children still alive, killed (by pid, ours only) if the benchmark ends early. */
const live = new Set<ChildProcess>();
let dying = false;
export function killAll(): void {
  dying = true;
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
process.on('exit', killAll);

/**
 * A child that exits while nobody asked it to (a crash, a missing file) fails the scenario at once: awaiting its
 * answers would otherwise hang, or let the event loop run dry and end the benchmark with exit 0 and no figures.
 */
let onDeath: ((err: Error) => void) | undefined;
export function onUnexpectedExit(handler: (err: Error) => void): void {
  onDeath = handler;
}

export interface Line {
  text: string;
  /** Arrival time (ms since the epoch). */
  t: number;
}

export interface ChildOptions {
  /** Node flags before the script. */
  node?: string[];
  ipc?: boolean;
  /** Called for every stdout line as it arrives. */
  onLine?: (line: Line) => void;
  env?: NodeJS.ProcessEnv;
}

/** A node child process: stdout lines timestamped on arrival, stderr kept (tail), optional IPC requests. */
export class Child {
  readonly proc: ChildProcess;
  readonly stderr: string[] = [];
  private partial = '';
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly exited: Promise<number | null>;
  private readyResolve!: (v: unknown) => void;
  private readyReject!: (e: Error) => void;
  private stopping = false;
  /** The child's first unsolicited message (id 0): "ready" / "subscribed". */
  readonly ready: Promise<unknown>;

  constructor(
    readonly name: string,
    args: string[],
    opts: ChildOptions = {},
  ) {
    this.ready = new Promise((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    // Awaited by some scenarios only; its rejection is reported through onUnexpectedExit as well.
    this.ready.catch(() => undefined);
    this.proc = spawn(process.execPath, [...(opts.node ?? []), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe', opts.ipc ? 'ipc' : 'ignore'],
      env: opts.env ?? process.env,
    });
    live.add(this.proc);
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stdout!.on('data', (chunk: string) => {
      const t = now();
      const parts = (this.partial + chunk).split('\n');
      this.partial = parts.pop() ?? '';
      if (opts.onLine) for (const text of parts) if (text) opts.onLine({ text, t });
    });
    this.proc.stderr!.setEncoding('utf8');
    this.proc.stderr!.on('data', (chunk: string) => {
      this.stderr.push(chunk);
      if (this.stderr.length > 200) this.stderr.splice(0, this.stderr.length - 200);
    });
    this.proc.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      if (m.id === 0) return this.readyResolve(m.result);
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.error !== undefined) w.reject(new Error(`${this.name}: ${m.error}`));
      else w.resolve(m.result);
    });
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        live.delete(this.proc);
        const err = new Error(`${this.name} exited (${code ?? signal ?? '?'}): ${this.stderrSummary()}`);
        for (const w of this.waiting.values()) w.reject(err);
        this.waiting.clear();
        this.readyReject(err);
        if (!this.stopping && !dying) onDeath?.(err);
        resolve(code);
      });
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  stderrTail(chars = 2000): string {
    return this.stderr.join('').slice(-chars);
  }

  /** The error line of a crash if there is one (a stack trace says little on one line), else the tail. */
  stderrSummary(): string {
    const tail = this.stderrTail(4000);
    const error = tail.split('\n').find((l) => /^\w*Error\b|^Error:/.test(l.trim()));
    return oneLine(error ?? tail.slice(-300)) || 'no stderr';
  }

  request<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, cmd, ...args });
    });
  }

  /** SIGTERM (the watcher drains and exits), SIGKILL after `ms`. */
  async stop(ms = 5000): Promise<number | null> {
    this.stopping = true;
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return this.proc.exitCode;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), ms);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** A child running TypeScript from scripts/bench through tsx. */
export function tsChild(name: string, script: string, args: string[] = [], opts: ChildOptions = {}): Child {
  return new Child(name, [join(__dirname, script), ...args], { ...opts, node: ['--import', 'tsx', ...(opts.node ?? [])], ipc: true });
}

/** The real CLI: `node dist/cli.js watch --url …`. */
export function watchChild(urls: string[], opts: ChildOptions & { args?: string[]; cli?: string } = {}): Child {
  return new Child('watch', [opts.cli ?? CLI, 'watch', ...urls.flatMap((u) => ['--url', u]), ...(opts.args ?? [])], opts);
}

const CLK_TCK = 100;

/** User + system CPU time of a process, ms (from /proc/<pid>/stat; 10 ms resolution). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields after "pid (comm) ": state=0 … utime=11, stime=12
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

/** User and system CPU time of a process, ms (from /proc/<pid>/stat). */
export function cpuSplitMs(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(f[11]) * 1000) / CLK_TCK, sys: (Number(f[12]) * 1000) / CLK_TCK };
}

/** Resident set size, MB (from /proc/<pid>/status). */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Resolves when `pred` holds (polled every `every` ms); rejects with `what` after `ms`. */
export async function waitFor(pred: () => boolean, ms: number, what: string, every = 5): Promise<void> {
  const end = now() + ms;
  while (!pred()) {
    if (now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function median(xs: readonly number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 50);
}

/** A stderr tail on one line: the benchmark's failure message is a single line. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;
