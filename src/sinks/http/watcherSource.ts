import { HttpError } from '../../invoke/http';
import { NO_BOARD } from '../../records';
import type { Watcher } from '../../watch/watcher';
import type { ImageBytes, LiveSource, SinkHealth } from './source';

/** What the live view shows for board "none" (InvokeAI's own label for it). */
export const UNCATEGORIZED = 'Uncategorized';

export interface WatcherSourceOptions {
  /** Delivery counters of the sinks (stdout, the webhook, brokers). */
  sinks?: () => SinkHealth[];
}

/**
 * The {@link LiveSource} of a Watcher: its delivered records, each server's health, and image bytes and board
 * names read through that server's own connection (hence with its credentials).
 */
export function liveSourceOf(watcher: Watcher, opts: WatcherSourceOptions = {}): LiveSource {
  const connOf = (server: string) => {
    const sw = watcher.serverWatches.find((s) => s.server === server);
    if (!sw) throw new HttpError(404, 'GET', server, '(not a watched server)');
    return sw.conn;
  };
  // One lookup per board: the promise is kept, so concurrent asks share it. Failures are forgotten (asked again later).
  const boards = new Map<string, Promise<string | null>>();
  const source: LiveSource = {
    records$: watcher.records$,
    health: () => watcher.health(),
    fetchImage: async (server, imageName, size): Promise<ImageBytes> => {
      const res = await connOf(server).http.raw('GET', `/images/i/${encodeURIComponent(imageName)}/${size}`);
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
        name = (async () => (await connOf(server).api.board(boardId))?.board_name ?? null)();
        boards.set(key, name);
        name.catch(() => boards.delete(key));
      }
      return name;
    },
  };
  if (opts.sinks) source.sinks = opts.sinks;
  return source;
}
