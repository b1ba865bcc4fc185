import { MemoryLogger } from '../../src/log';
import { sinkFromUrl } from '../../src/sinks/fromUrl';
import type { QueuedSink } from '../../src/sinks/queued';
import type { SinkRecord } from '../../src/sinks/sink';
import type { Teardown } from '../support/harness';

/** What the NATS and Redis sink tests share: a sink from its URL with quick retries, closed after each test. */
export function sinkMaker(td: Teardown): (url: string, log?: MemoryLogger, extra?: Parameters<typeof sinkFromUrl>[1]) => QueuedSink {
  return (url, log = new MemoryLogger(), extra = {}) =>
    td.add(sinkFromUrl(url, { log, backoff: { min: 50, max: 300 }, timeoutMs: 2000, ...extra }), (s) => s.close());
}

/** Record n, with text that must survive byte for byte (non-ASCII, quotes). */
export function rec(n: number, type: SinkRecord['type'] = 'image'): SinkRecord {
  return { recordId: `rid-${n}`, type, line: JSON.stringify({ type, n, text: 'é ✓ "q"' }) };
}

export const warnings = (log: MemoryLogger): string[] => log.lines.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => l.msg);
