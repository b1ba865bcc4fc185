import type { Observable } from 'rxjs';
import type { OutputRecord } from '../../records';
import type { ServerHealth } from '../../watch/health';

/*
 * All the live view knows of the daemon. The core implements it (watcherSource.ts over the Watcher); the
 * HTTP subsystem never reaches past it, so it can be served from any record source.
 */

export type { ServerHealth } from '../../watch/health';

export interface ImageBytes {
  status: number;
  contentType: string | null;
  contentLength: number | null;
  body: NodeJS.ReadableStream;
}

export interface SinkHealth {
  name: string;
  delivered: number;
  pending: number;
  failed: number;
}

export interface LiveSource {
  /** Hot stream of every record, as printed on stdout. */
  records$: Observable<OutputRecord>;
  health(): ServerHealth[];
  /** Bytes of an image from its server with the daemon's credentials (the server's `GET /images/i/{name}/full|thumbnail`). */
  fetchImage(server: string, imageName: string, size: 'full' | 'thumbnail'): Promise<ImageBytes>;
  /** Board name, looked up once per board and cached (`GET /boards/{id}`); null when unknown; "Uncategorized" for "none". */
  boardName(server: string, boardId: string): Promise<string | null>;
  /** Per-sink delivery counters (brokers, webhook), when there are any. */
  sinks?(): SinkHealth[];
}
