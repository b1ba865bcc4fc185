import type { ObservableInput, SchedulerLike } from 'rxjs';
import type { EngineDeps, EngineOutput } from '../../src/engine/engine';
import type { LookupOutcome, RungName, RungOutcome, RungRequest } from '../../src/ledger/types';
import { dto, queueItem } from '../ledger/support';

export type Answer<T> = ObservableInput<T>;

/** What the engine asked for, and when (scheduler frames). */
export interface Call {
  at: number;
  what: 'lookup' | RungName | 'root';
  names?: readonly string[];
  request?: RungRequest;
}

/**
 * Engine effects answered from a script: each call of a kind takes the next answer of that kind (a cold observable
 * or a timer, so the answer comes at a chosen virtual time). A call with no answer left fails the test.
 */
export function scriptedDeps(
  scheduler: SchedulerLike,
  script: { lookups?: Answer<ReadonlyMap<string, LookupOutcome>>[]; rungs?: Partial<Record<RungName, Answer<RungOutcome>[]>>; roots?: Answer<number | null>[] },
): { deps: EngineDeps; calls: Call[] } {
  const calls: Call[] = [];
  const lookups = [...(script.lookups ?? [])];
  const roots = [...(script.roots ?? [])];
  const rungs = new Map(Object.entries(script.rungs ?? {}).map(([k, v]) => [k as RungName, [...v]]));
  const next = <T>(list: Answer<T>[] | undefined, what: string): Answer<T> => {
    const a = list?.shift();
    if (a === undefined) throw new Error(`unscripted ${what} at frame ${scheduler.now()}`);
    return a;
  };
  return {
    calls,
    deps: {
      lookupImages: (names) => {
        calls.push({ at: scheduler.now(), what: 'lookup', names });
        return next(lookups, 'lookup');
      },
      runRung: (rung, request) => {
        calls.push({ at: scheduler.now(), what: rung, request });
        return next(rungs.get(rung), `${rung} rung`);
      },
      readRoot: () => {
        calls.push({ at: scheduler.now(), what: 'root' });
        return next(roots, 'root read');
      },
    },
  };
}

/** An engine output in a few words, for marble values. */
export function show(o: EngineOutput): string {
  if (o.kind === 'warn') return `warn: ${o.message}`;
  if (o.kind === 'postponed') return `postponed ${o.itemId}`;
  const r = o.record;
  if (r.type === 'image') return `image ${r.image_name}${r.cached ? ' (cached)' : ''}`;
  return `item ${r.item_id} ${r.status} ${r.complete ? 'complete' : 'incomplete'} [${r.new_images.join(',')}]`;
}

export const found = (name: string, preparedId: string): ReadonlyMap<string, LookupOutcome> => new Map([[name, { kind: 'found', dto: dto(name, preparedId) }]]);
export const failedLookup = (name: string, error = 'HTTP 500'): ReadonlyMap<string, LookupOutcome> => new Map([[name, { kind: 'failed', error }]]);

export const itemRead = (item: ReturnType<typeof queueItem>, sessionAuthoritative = true): RungOutcome => ({ rung: 'queue_item', kind: 'item', item, sessionAuthoritative });
