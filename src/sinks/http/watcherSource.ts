import { HttpError } from '../../invoke/http';
import { NO_BOARD } from '../../records';
import type { ServerWatch } from '../../serverWatch';
import type { Watcher } from '../../watcher';
import type { ImageBytes, LiveSource, SinkHealth } from './source';

/** What the live view shows for board "none" (InvokeAI's own label for it). */
export const UNCATEGORIZED = 'Uncategorized';

export interface WatcherSourceOptions {
  /** Delivery counters of the sinks beside stdout (the webhook). */
  sinks?: () => SinkHealth[];
}

/**
 * Provisional: the {@link LiveSource} of today's Watcher. It reads only public getters of each ServerWatch and uses
 * its HTTP client (hence its credentials); the redesigned core re-implements this adapter.
 */
export function liveSourceOf(watcher: Watcher, opts: WatcherSourceOptions = {}): LiveSource {
  const byUrl = (): Map<string, ServerWatch> => new Map(watcher.serverWatches.map((s) => [s.endpoint, s]));
  const watchOf = (server: string): ServerWatch => {
    const sw = byUrl().get(server);
    if (!sw) throw new HttpError(404, 'GET', server, '(not a watched server)');
    return sw;
  };
  // One lookup per board: the promise is kept, so concurrent asks share it. Failures are forgotten (asked again later).
  const boards = new Map<string, Promise<string | null>>();
  const source: LiveSource = {
    records$: watcher.records$,
    health: () =>
      watcher.serverWatches.map((sw) => ({
        url: sw.endpoint,
        connected: sw.connected,
        lastEventAt: sw.lastEventAt,
        openItems: sw.state.open.size,
        reconnects: sw.reconnects,
      })),
    fetchImage: async (server, imageName, size): Promise<ImageBytes> => {
      const res = await watchOf(server).http.raw('GET', `/images/i/${encodeURIComponent(imageName)}/${size}`);
      const type = res.headers['content-type'];
      const length = res.headers['content-length'];
      return {
        status: res.statusCode,
        contentType: typeof type === 'string' ? type : null,
        contentLength: typeof length === 'string' && /^\d+$/.test(length) ? Number(length) : null,
        body: res.body,
      };
    },
    boardName: (server, boardId) => {
      if (boardId === NO_BOARD) return Promise.resolve(UNCATEGORIZED);
      const key = `${server}\n${boardId}`;
      let name = boards.get(key);
      if (!name) {
        name = (async () => (await watchOf(server).api.board(boardId))?.board_name ?? null)();
        boards.set(key, name);
        name.catch(() => boards.delete(key));
      }
      return name;
    },
  };
  if (opts.sinks) source.sinks = opts.sinks;
  return source;
}
