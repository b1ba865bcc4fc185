import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { OutputsError } from '../errors';
import { QueueCursor, type CursorChange, type OpenItem, type QueueCursorJson } from './cursor';
import { StateLock } from './lock';

interface StateJson {
  version: 2;
  servers: Record<string, Record<string, QueueCursorJson>>;
}

/** The first format: a watermark, reported ids above it, and items seen running. */
interface StateJsonV1 {
  version: 1;
  servers: Record<string, Record<string, { watermark: number | null; reported: number[]; pending: Record<string, OpenItem> }>>;
}

/** Journal lines before the snapshot is rewritten. */
const COMPACT_AFTER = 2000;

/**
 * The `--state` file: one cursor per server and queue, as a snapshot (`FILE`, rewritten atomically: temporary
 * file, fsync, rename) plus a journal of changes since (`FILE.journal`, one JSON line per delivered record, appended
 * with a plain write: it survives the process being killed, which is what a restart needs, without rewriting the
 * whole file for every image). Loading replays the journal onto the snapshot; a torn last line is ignored.
 */
export class StateFile {
  private readonly cursors = new Map<string, QueueCursor>();
  private journalFd: number | undefined;
  private journalLines = 0;
  private failed = false;

  private constructor(
    readonly path: string | null,
    private readonly raw: StateJson,
    private readonly lock: StateLock | null,
    private readonly warn: (msg: string) => void,
  ) {}

  /** Opens (or starts) a state file and locks it; `null` keeps the cursors in memory only. */
  static open(path: string | null, warn: (msg: string) => void = () => undefined): StateFile {
    if (path === null) return new StateFile(null, { version: 2, servers: {} }, null, warn);
    const lock = StateLock.acquire(path);
    try {
      const file = new StateFile(path, readSnapshot(path), lock, warn);
      mkdirSync(dirname(path), { recursive: true });
      // The journal of the last run goes into the snapshot at once, so a new journal starts empty.
      for (const line of readJournal(`${path}.journal`)) {
        const j = parseJournalLine(line);
        if (j) file.cursorOf(j.k).replay(j.change);
      }
      file.save();
      return file;
    } catch (err) {
      lock.unlock();
      throw err;
    }
  }

  cursor(server: string, queue: string): QueueCursor {
    return this.cursorOf(`${server}\u0000${queue}`);
  }

  private cursorOf(key: string): QueueCursor {
    let c = this.cursors.get(key);
    if (c) return c;
    const [server, queue] = key.split('\u0000') as [string, string];
    c = new QueueCursor(this.raw.servers[server]?.[queue]);
    c.onChange = (change) => this.note(key, change);
    this.cursors.set(key, c);
    return c;
  }

  private note(key: string, change: CursorChange): void {
    if (this.path === null) return;
    if (change.op === 'snapshot' || this.journalLines >= COMPACT_AFTER) return this.save();
    try {
      this.journalFd ??= openSync(`${this.path}.journal`, 'a');
      writeSync(this.journalFd, `${JSON.stringify({ k: key, change })}\n`);
      this.journalLines += 1;
      this.failed = false;
    } catch (err) {
      this.writeFailed(err);
    }
  }

  /** Writes the snapshot and empties the journal. */
  save(): void {
    if (this.path === null) return;
    try {
      for (const [key, c] of this.cursors) {
        const [server, queue] = key.split('\u0000') as [string, string];
        (this.raw.servers[server] ??= {})[queue] = c.toJSON();
      }
      atomicWrite(this.path, `${JSON.stringify(this.raw)}\n`);
      // The journal's changes are in the snapshot now.
      if (this.journalFd !== undefined) closeSync(this.journalFd);
      this.journalFd = openSync(`${this.path}.journal`, 'w');
      this.journalLines = 0;
      this.failed = false;
    } catch (err) {
      this.writeFailed(err);
    }
  }

  private writeFailed(err: unknown): void {
    // Reporting goes on; only a restart would repeat what could not be recorded. Said once per failure spell.
    if (!this.failed) this.warn(`state file ${this.path ?? ''}: cannot write (${(err as NodeJS.ErrnoException).code ?? String(err)}); reporting goes on, a restart may repeat records`);
    this.failed = true;
  }

  close(): void {
    this.save();
    if (this.journalFd !== undefined) closeSync(this.journalFd);
    this.journalFd = undefined;
    this.lock?.unlock();
  }
}

function atomicWrite(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

function readText(path: string, what: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new OutputsError('BAD_CONFIG', `${what} ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

function readSnapshot(path: string): StateJson {
  const text = readText(path, 'state file');
  if (text === null) return { version: 2, servers: {} };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new OutputsError('BAD_CONFIG', `state file ${path}: not valid JSON`);
  }
  const r = raw as Partial<StateJson | StateJsonV1> | null;
  if (!r || typeof r.servers !== 'object' || r.servers === null || (r.version !== 1 && r.version !== 2)) {
    throw new OutputsError('BAD_CONFIG', `state file ${path}: not an invokeai-outputs state file`);
  }
  return r.version === 2 ? (r as StateJson) : fromV1(r as StateJsonV1);
}

function fromV1(v1: StateJsonV1): StateJson {
  const servers: StateJson['servers'] = {};
  for (const [server, queues] of Object.entries(v1.servers)) {
    servers[server] = {};
    for (const [queue, c] of Object.entries(queues)) servers[server][queue] = { floor: c.watermark, settled: c.reported, open: c.pending };
  }
  return { version: 2, servers };
}

function readJournal(path: string): string[] {
  const text = readText(path, 'state journal');
  return text === null ? [] : text.split('\n').filter((l) => l.trim() !== '');
}

function parseJournalLine(line: string): { k: string; change: CursorChange } | null {
  try {
    const v = JSON.parse(line) as { k?: unknown; change?: { op?: unknown } };
    return typeof v.k === 'string' && typeof v.change?.op === 'string' ? (v as { k: string; change: CursorChange }) : null;
  } catch {
    return null; // a torn last line after a kill
  }
}
