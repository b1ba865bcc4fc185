import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { OutputsError } from '../errors';

/**
 * One process per state file: two daemons sharing a cursor would each report everything (and fight over the file).
 * The lock is a file created exclusively, holding the owner's pid; a lock whose process is gone is taken over.
 */
/** Locks held by this process: a second watcher in the same process is refused like another process would be. */
const HELD = new Set<string>();

export class StateLock {
  private held = false;
  private readonly release = (): void => this.unlock();

  private constructor(readonly path: string) {}

  static acquire(stateFile: string): StateLock {
    const lock = new StateLock(`${stateFile}.lock`);
    lock.take();
    return lock;
  }

  private take(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.path, 'wx');
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        this.held = true;
        HELD.add(this.path);
        process.once('exit', this.release);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new OutputsError('BAD_CONFIG', `state file lock ${this.path}: cannot create (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
        }
        const owner = ownerOf(this.path);
        if (owner !== null && alive(owner) && (owner !== process.pid || HELD.has(this.path))) {
          throw new OutputsError('BAD_CONFIG', `state file ${this.path.slice(0, -'.lock'.length)} is in use by another invokeai-outputs (pid ${owner})`);
        }
        // Left by a process that died (kill -9, a crash): take it over.
        try {
          unlinkSync(this.path);
        } catch {
          /* another process took it over first: the next attempt says so */
        }
      }
    }
    throw new OutputsError('BAD_CONFIG', `state file lock ${this.path}: could not be taken`);
  }

  unlock(): void {
    if (!this.held) return;
    this.held = false;
    HELD.delete(this.path);
    process.off('exit', this.release);
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }
}

function ownerOf(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
