import { OutputsError, errorMessage } from '../errors';
import type { InvokeApi } from '../invoke/api';
import type { ServerCaps } from '../invoke/generation';
import { HttpError } from '../invoke/http';
import type { ImageDto } from '../invoke/wire';
import type { LookupOutcome } from '../ledger/types';

export interface ImageLookupOptions {
  /** Names per `images_by_names` request. @default 100 */
  maxBatch?: number;
  /** Requests in flight at once; names asked for meanwhile wait for the next. @default 2 */
  maxInFlight?: number;
}

interface Waiter {
  names: readonly string[];
  resolve: (m: Map<string, LookupOutcome>) => void;
}

/**
 * Image DTOs, looked up in bursts (the DataLoader pattern): a lookup asked for while nothing is in flight goes out at
 * once; names asked for while requests are in flight are gathered and sent as one `POST /images/images_by_names`
 * (6.0+) when one comes back. Older servers get one `GET /images/i/{name}` per name.
 */
export class ImageLookup {
  private readonly queue: Waiter[] = [];
  private inFlight = 0;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private byNames = true;
  /** Requests sent, for the benchmark's accounting. */
  requests = 0;

  constructor(
    private readonly api: InvokeApi,
    private readonly caps: () => ServerCaps,
    opts: ImageLookupOptions = {},
  ) {
    this.maxBatch = Math.max(1, opts.maxBatch ?? 100);
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 2);
  }

  load(names: readonly string[]): Promise<Map<string, LookupOutcome>> {
    return new Promise((resolve) => {
      this.queue.push({ names, resolve });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch: Waiter[] = [];
      let count = 0;
      while (this.queue.length > 0 && (count === 0 || count + this.queue[0]!.names.length <= this.maxBatch)) {
        const w = this.queue.shift()!;
        batch.push(w);
        count += w.names.length;
      }
      this.inFlight += 1;
      void this.fetch([...new Set(batch.flatMap((w) => w.names))]).then((outcomes) => {
        this.inFlight -= 1;
        for (const w of batch) w.resolve(new Map(w.names.map((n) => [n, outcomes.get(n) ?? { kind: 'failed', error: 'no answer' }])));
        this.dispatch();
      });
    }
  }

  private async fetch(names: string[]): Promise<Map<string, LookupOutcome>> {
    const out = new Map<string, LookupOutcome>();
    let single = names;
    if (names.length > 1 && this.byNames && this.caps().imagesByNames) {
      try {
        this.requests += 1;
        for (const dto of await this.api.imagesByNames(names)) out.set(dto.image_name, { kind: 'found', dto });
        // Missing or forbidden names are skipped silently: each is asked for alone, where a 404 says "gone".
        single = names.filter((n) => !out.has(n));
      } catch (err) {
        if (err instanceof HttpError && (err.status === 404 || err.status === 405)) this.byNames = false;
        else return failAll(names, err);
      }
    }
    await Promise.all(single.map(async (n) => out.set(n, await this.one(n))));
    return out;
  }

  private async one(name: string): Promise<LookupOutcome> {
    try {
      this.requests += 1;
      const dto: ImageDto | null = await this.api.imageDto(name);
      return dto ? { kind: 'found', dto } : { kind: 'gone' };
    } catch (err) {
      return outcomeOf(err);
    }
  }
}

function outcomeOf(err: unknown): LookupOutcome {
  return err instanceof OutputsError && err.code === 'UNREACHABLE' ? { kind: 'unreachable', error: errorMessage(err) } : { kind: 'failed', error: errorMessage(err) };
}

function failAll(names: readonly string[], err: unknown): Map<string, LookupOutcome> {
  const o = outcomeOf(err);
  return new Map(names.map((n) => [n, o]));
}
