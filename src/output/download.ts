import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { OutputsError, errorMessage } from '../errors';
import type { InvokeHttp } from '../invoke/http';
import { noopLogger, type Logger } from '../log';
import type { ImageRecord } from '../records';

const NS = 'output:download';

/** A temporary file untouched for this long was left by a process that died mid-download. */
const STALE_PART_MS = 10 * 60_000;

export interface ImageDownloaderOptions {
  /** Root folder; images go to `<dir>/<board_id>/<image_name>`. Relative paths resolve against the cwd. */
  dir: string;
  /** The client of the server the records came from. Not closed by the downloader. */
  http: InvokeHttp;
  log?: Logger;
  /** Downloads in flight at once. @default 4 */
  concurrency?: number;
}

/**
 * `--download DIR`: saves output images so that the folder only ever holds complete files. Each image is streamed to
 * a hidden temporary name in its board's folder, fsynced, then renamed into place, so a file at the final path is
 * complete by construction and is never fetched again.
 */
export class ImageDownloader {
  private readonly dir: string;
  private readonly http: InvokeHttp;
  private readonly log: Logger;
  private readonly limit: Limiter;
  /** One download per target path, however many records name it. */
  private readonly inflight = new Map<string, Promise<string>>();
  private closed = false;
  private readonly swept = new Set<string>();

  constructor(opts: ImageDownloaderOptions) {
    this.dir = resolve(opts.dir);
    this.http = opts.http;
    this.log = (opts.log ?? noopLogger).child(NS);
    this.limit = new Limiter(Math.max(1, opts.concurrency ?? 4));
  }

  /** Saves the image to `<dir>/<board_id>/<image_name>` and resolves its absolute path. */
  download(rec: ImageRecord): Promise<string> {
    if (this.closed) return Promise.reject(new OutputsError('CLOSED', `download ${rec.image_name}: downloader is closed`));
    try {
      assertSafeSegment('board id', rec.board_id);
      assertSafeSegment('image name', rec.image_name);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const folder = join(this.dir, rec.board_id);
    const target = join(folder, rec.image_name);
    const running = this.inflight.get(target);
    if (running) return running;
    const job = this.save(folder, target, rec.image_name).finally(() => this.inflight.delete(target));
    this.inflight.set(target, job);
    return job;
  }

  /** Stops taking downloads and waits for those in flight (their outcome goes to their callers). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inflight.values()]);
  }

  private async save(folder: string, target: string, name: string): Promise<string> {
    if (await isFile(target)) {
      this.log.debug(() => `${target} already saved`);
      return target;
    }
    return this.limit.run(async () => {
      // Another process (or an earlier run) may have finished it while this one waited for a slot.
      if (await isFile(target)) return target;
      const bytes = await this.fetchTo(folder, target, name);
      this.log.debug(() => `saved ${target} (${bytes} B)`);
      return target;
    });
  }

  private async fetchTo(folder: string, target: string, name: string): Promise<number> {
    const path = `/images/i/${encodeURIComponent(name)}/full`;
    const res = await this.http.raw('GET', path);
    if (res.statusCode < 200 || res.statusCode >= 300) {
      await res.body.dump().catch(() => undefined);
      throw new OutputsError(
        res.statusCode === 404 ? 'NOT_FOUND' : 'HTTP_ERROR',
        `download ${name}: GET ${path} answered HTTP ${res.statusCode}`,
      );
    }
    const expected = contentLength(res.headers['content-length']);
    await mkdir(folder, { recursive: true });
    await this.sweep(folder);
    const tmp = join(folder, `.${name.slice(0, 200)}.${randomBytes(6).toString('hex')}.part`);
    let fh: FileHandle | undefined;
    let bytes = 0;
    try {
      fh = await open(tmp, 'wx');
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        await writeAll(fh, chunk);
      }
      if (bytes === 0) throw new Error('empty body');
      if (expected !== undefined && bytes !== expected) throw new Error(`got ${bytes} of ${expected} bytes`);
      await fh.sync();
      await fh.close();
      fh = undefined;
      await rename(tmp, target);
    } catch (err) {
      res.body.destroy();
      await fh?.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw new OutputsError('HTTP_ERROR', `download ${name}: ${errorMessage(err)}`, { cause: err });
    }
    await fsyncDir(folder);
    return bytes;
  }

  /** Once per folder and process: removes temporary files that a crashed run left behind. */
  private async sweep(folder: string): Promise<void> {
    if (this.swept.has(folder)) return;
    this.swept.add(folder);
    const cutoff = Date.now() - STALE_PART_MS;
    for (const entry of await readdir(folder).catch(() => [] as string[])) {
      if (!entry.startsWith('.') || !entry.endsWith('.part')) continue;
      try {
        if ((await stat(join(folder, entry))).mtimeMs >= cutoff) continue;
        await unlink(join(folder, entry));
        this.log.debug(() => `removed stale ${join(folder, entry)}`);
      } catch {
        /* another process got there first */
      }
    }
  }
}

/** Board ids and image names become path segments: refuse anything that could leave `<dir>/<board>`. */
export function assertSafeSegment(what: string, value: string): void {
  if (value === '' || value === '.' || value.includes('..') || /[/\\\0]/.test(value)) {
    throw new OutputsError('BAD_INPUT', `download: refusing unsafe ${what} ${JSON.stringify(value)}`);
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

async function writeAll(fh: FileHandle, chunk: Buffer): Promise<void> {
  let off = 0;
  while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
}

/** Makes the rename itself durable; some file systems cannot fsync a directory, which is harmless. */
async function fsyncDir(folder: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(folder, 'r');
    await fh.sync();
  } catch {
    /* best effort */
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

function contentLength(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined || !/^\d+$/.test(s.trim())) return undefined;
  return Number(s);
}

/** A counting semaphore: at most `max` jobs run at once, the rest wait in arrival order. */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async run<T>(job: () => Promise<T>): Promise<T> {
    // A finishing job hands its slot straight to the next waiter, so a newcomer cannot slip in between.
    if (this.active < this.max) this.active += 1;
    else await new Promise<void>((go) => this.waiting.push(go));
    try {
      return await job();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active -= 1;
    }
  }
}
