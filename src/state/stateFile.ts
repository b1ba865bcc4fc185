import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { OutputsError } from '../errors';
import { QueueCursor, type QueueCursorJson } from './cursor';

interface StateJson {
  version: 1;
  servers: Record<string, Record<string, QueueCursorJson>>;
}

/**
 * The `--state` file: one cursor per server and queue. Every save writes a temporary file, fsyncs it and renames
 * it over the old one, so a crash at any moment leaves either the old or the new state, never a torn one.
 */
export class StateFile {
  private readonly cursors = new Map<string, QueueCursor>();
  private readonly raw: StateJson;

  private constructor(
    readonly path: string | null,
    raw: StateJson,
  ) {
    this.raw = raw;
  }

  /** Opens (or starts) a state file; `null` keeps the cursors in memory only. */
  static open(path: string | null): StateFile {
    if (path === null) return new StateFile(null, { version: 1, servers: {} });
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new StateFile(path, { version: 1, servers: {} });
      throw new OutputsError('BAD_CONFIG', `state file ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new OutputsError('BAD_CONFIG', `state file ${path}: not valid JSON`);
    }
    const r = raw as Partial<StateJson> | null;
    if (!r || r.version !== 1 || typeof r.servers !== 'object' || r.servers === null) {
      throw new OutputsError('BAD_CONFIG', `state file ${path}: not an invokeai-outputs state file (version 1)`);
    }
    return new StateFile(path, r as StateJson);
  }

  cursor(server: string, queue: string): QueueCursor {
    const key = `${server}\u0000${queue}`;
    let c = this.cursors.get(key);
    if (!c) {
      c = new QueueCursor(this.raw.servers[server]?.[queue]);
      this.cursors.set(key, c);
    }
    return c;
  }

  save(): void {
    if (this.path === null) return;
    for (const [key, c] of this.cursors) {
      const [server, queue] = key.split('\u0000') as [string, string];
      (this.raw.servers[server] ??= {})[queue] = c.toJSON();
    }
    const tmp = `${this.path}.${process.pid}.tmp`;
    mkdirSync(dirname(this.path), { recursive: true });
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, `${JSON.stringify(this.raw)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
  }
}
