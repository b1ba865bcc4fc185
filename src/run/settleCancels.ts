import { Observable } from 'rxjs';
import type { Logger } from '../log';
import type { ItemWork } from '../pipeline/trackOutputs';

export interface SettleCancelsOptions {
  /** Longest wait for the running node, ms. */
  graceMs: number;
  /** Prepared ids of nodes that report step progress: they stop at their next step without a word, so no wait. */
  interruptible: ReadonlySet<string>;
  log: Logger;
}

/**
 * Holds the `canceled` end of an item while one of its nodes is still running: the server lets that node finish,
 * saves its images and reports it after the status changed (docs/protocol.md §8.5). Released when the node ends, or after
 * the grace. Node starts and ends are told apart by the item's own `invocation_started`/`_complete`/`_error`.
 */
export function settleCancels(work$: Observable<ItemWork>, opts: SettleCancelsOptions): Observable<ItemWork> {
  return new Observable<ItemWork>((sub) => {
    const running = new Map<number, Set<string>>();
    const held = new Map<number, { work: ItemWork[]; timer: NodeJS.Timeout }>();
    const busy = (itemId: number): boolean => [...(running.get(itemId) ?? [])].some((id) => !opts.interruptible.has(id));
    const release = (itemId: number): void => {
      const h = held.get(itemId);
      if (!h) return;
      clearTimeout(h.timer);
      held.delete(itemId);
      for (const w of h.work) sub.next(w);
    };
    const s = work$.subscribe({
      next: (w) => {
        const id = w.itemId;
        if (w.kind === 'event' && w.event.kind !== 'status' && 'invocation' in w.event) {
          const nodes = running.get(id) ?? new Set<string>();
          running.set(id, nodes);
          if (w.event.kind === 'started') nodes.add(w.event.invocation.id);
          else nodes.delete(w.event.invocation.id);
          sub.next(w);
          if (held.has(id) && !busy(id)) release(id);
          return;
        }
        // A parent suspended on a called workflow runs nothing until it resumes: its call node is not running.
        if (w.kind === 'event' && w.event.kind === 'status' && w.event.status === 'waiting') running.delete(id);
        const canceled = w.kind === 'terminal' ? w.notice.status === 'canceled' : w.event.kind === 'status' && w.event.status === 'canceled';
        const h = held.get(id);
        if (h) h.work.push(w);
        else if (canceled && busy(id)) {
          opts.log.debug(`item ${id} canceled with a node running: waiting up to ${opts.graceMs} ms for it`);
          held.set(id, { work: [w], timer: setTimeout(() => release(id), opts.graceMs) });
        } else sub.next(w);
      },
      error: (err: unknown) => sub.error(err),
      complete: () => sub.complete(),
    });
    return () => {
      s.unsubscribe();
      for (const h of held.values()) clearTimeout(h.timer);
    };
  });
}
