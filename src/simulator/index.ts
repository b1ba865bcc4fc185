/**
 * An embedded InvokeAI server simulator: the real HTTP + socket.io protocol of InvokeAI (default: the newest
 * generation, 6.14), executing submitted graphs with simulated nodes, real PNG bytes, boards and queue items.
 * Start it in tests with {@link startSimulator}; everything binds to 127.0.0.1.
 */
import { BoardStore, type BoardDTO } from './boards';
import { InvocationCache } from './cache';
import type { SimContext } from './context';
import { EventPublisher } from './events';
import { FaultInjector, type Faults } from './faults';
import { ImageStore, type ImageCategory, type ImageDTO } from './images';
import type { JsonObject } from './json';
import { Processor } from './processor';
import { getProfile, type ProfileSpec } from './profiles';
import { SessionQueue } from './queue';
import { Router } from './router';
import { appRoutes } from './routes/app';
import { boardRoutes } from './routes/boards';
import { imageRoutes } from './routes/images';
import { queueRoutes } from './routes/queue';
import { Listener } from './server';
import { SocketHub } from './sockets';

export type { BoardDTO } from './boards';
export type { FaultAction, FaultRule, Faults, NodeFailure } from './faults';
export type { ImageCategory, ImageDTO } from './images';
export type { Json, JsonObject } from './json';
export { PROFILES, type ProfileSpec } from './profiles';
export { HIDDEN_SAVE_TYPE } from './catalog';
export { sampleGraph, type SampleGraphOptions } from './samples';

export interface SimulatorOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. @default 0 */
  port?: number;
  /**
   * Path prefix (6.14 `base_url`, e.g. `/invoke`): HTTP under `${base}/api/v1`, socket.io at
   * `${base}/ws/socket.io`. @default ''
   */
  base?: string;
  /** Server generation from {@link PROFILES}: `head` (6.14), `6.13`, `legacy-no-names`. @default 'head' */
  profile?: string;
  /** Multi-user mode (auth, per-user rooms). Not implemented yet: `true` throws. @default false */
  multiuser?: boolean;
  /** Simulated run time of each node, in ms. @default 2 */
  nodeDelayMs?: number;
  /** `invocation_progress` events per denoise-like node. @default 2 */
  progressSteps?: number;
  /** Invocation cache entries (the server's `node_cache_size`); 0 disables the cache. @default 512 */
  nodeCacheSize?: number;
  /** Debug sink for log lines; the simulator never writes to stdout. */
  logger?: (msg: string) => void;
}

/** Options of {@link Simulator.seedImages}. */
export interface SeedImageOptions {
  /** `session_id` of the seeded images (as if a run had made them). @default null */
  sessionId?: string;
  /** @default false */
  isIntermediate?: boolean;
  /** Exact image names (one per image), e.g. an input image a real graph refers to. @default random `<uuid>.png` */
  names?: readonly string[];
  /** @default 512 */
  width?: number;
  /** @default 512 */
  height?: number;
  /** @default 'general' */
  category?: ImageCategory;
}

/** Read access to the simulator's state, shaped like the server's own DTOs. */
export interface SimulatorStore {
  readonly imageCount: number;
  getImage(name: string): ImageDTO | undefined;
  /** Image names of a board (`'none'` = uncategorized), oldest first; all images when omitted. */
  imageNames(boardId?: string): string[];
  getBoard(boardId: string): BoardDTO | undefined;
  listBoards(): BoardDTO[];
  /** `SessionQueueItem` as `GET /queue/{q}/i/{id}` returns it (nulls omitted). */
  getQueueItem(itemId: number): JsonObject | undefined;
  /** Every queue item (of one queue when given), oldest first, as `getQueueItem` shapes them. */
  listQueueItems(queueId?: string): JsonObject[];
}

export interface Simulator {
  /** `http://127.0.0.1:${port}${base}`: the InvokeAI base URL a client is given. */
  readonly url: string;
  readonly port: number;
  readonly profile: ProfileSpec;
  readonly faults: Faults;
  readonly store: SimulatorStore;
  /** Same as `POST /boards/?board_name=`. */
  createBoard(name: string): BoardDTO;
  /**
   * Bulk insert of pre-existing images (cheap: no bytes until one is requested). `boardId` may be `'none'`.
   * Returns the image names, oldest first.
   */
  seedImages(boardId: string, count: number, opts?: SeedImageOptions): string[];
  /** Stop taking queue items (the running one finishes). */
  pauseProcessor(): void;
  resumeProcessor(): void;
  /** Server-initiated disconnect of every socket (`io server disconnect`: clients do not auto-retry). */
  disconnectSockets(): void;
  /** The server "goes down": HTTP and sockets closed, the running item stops mid-way; state and port kept. */
  stopListener(): Promise<void>;
  /** Back up on the same port; like a real start, `in_progress` items become `canceled` without events. */
  startListener(): Promise<void>;
  /** Closes everything; no handle stays open. */
  close(): Promise<void>;
}

function normalizeBase(base: string | undefined): string {
  if (!base || base === '/') return '';
  const b = base.startsWith('/') ? base : `/${base}`;
  return b.endsWith('/') ? b.slice(0, -1) : b;
}

/** Starts a simulator on 127.0.0.1 and resolves once it accepts connections. */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  if (opts.multiuser) throw new Error('multiuser not implemented yet');
  const profile = getProfile(opts.profile ?? 'head');
  const log = opts.logger ?? ((): void => undefined);
  const base = normalizeBase(opts.base);

  const images = new ImageStore();
  const boards = new BoardStore(images);
  const queue = new SessionQueue(profile);
  const cache = new InvocationCache(opts.nodeCacheSize ?? 512);
  const faults = new FaultInjector(log);
  const hub = new SocketHub(profile, faults, log);
  const events = new EventPublisher(hub, queue, profile);
  queue.notifier = events;
  const processor = new Processor(
    { queue, images, boards, cache, faults, events, profile, log },
    { nodeDelayMs: opts.nodeDelayMs ?? 2, progressSteps: opts.progressSteps ?? 2 },
  );
  const ctx: SimContext = { profile, queue, images, boards, cache, processor, events, log };
  const router = new Router();
  appRoutes(router, ctx);
  queueRoutes(router, ctx);
  boardRoutes(router, ctx);
  imageRoutes(router, ctx);

  const listener = new Listener(base, router, hub, opts.port ?? 0, log);
  await listener.start();
  processor.start();
  let closed = false;

  const store: SimulatorStore = {
    get imageCount() {
      return images.size;
    },
    getImage: (name) => {
      const r = images.get(name);
      return r ? images.toDTO(r) : undefined;
    },
    imageNames: (boardId) => (boardId === undefined ? images.allImages() : images.boardImages(boardId === 'none' ? null : boardId)).map((r) => r.name),
    getBoard: (id) => {
      const b = boards.get(id);
      return b ? boards.toDTO(b) : undefined;
    },
    listBoards: () => boards.list().map((b) => boards.toDTO(b)),
    getQueueItem: (itemId) => {
      const i = queue.get(itemId);
      return i ? queue.dump(i, true) : undefined;
    },
    listQueueItems: (queueId) => (queueId === undefined ? queue.all() : queue.inQueue(queueId)).map((i) => queue.dump(i, true)),
  };

  return {
    get url() {
      return `http://127.0.0.1:${listener.port}${base}`;
    },
    get port() {
      return listener.port;
    },
    profile,
    faults,
    store,
    createBoard: (name) => boards.toDTO(boards.create(name)),
    seedImages: (boardId, count, o = {}) => {
      const board = boardId === 'none' ? null : boardId;
      if (board !== null && !boards.has(board)) throw new Error(`seedImages: board ${boardId} does not exist`);
      const names: string[] = [];
      const now = Date.now();
      for (let i = 0; i < count; i++) {
        const name = o.names?.[i];
        const r = images.add(
          {
            ...(name === undefined ? {} : { name }),
            width: o.width ?? 512,
            height: o.height ?? 512,
            category: o.category ?? 'general',
            isIntermediate: o.isIntermediate ?? false,
            sessionId: o.sessionId ?? null,
            nodeId: null,
            boardId: board,
          },
          now,
        );
        names.push(r.name);
      }
      return names;
    },
    pauseProcessor: () => processor.pause(),
    resumeProcessor: () => processor.resume(),
    disconnectSockets: () => hub.disconnectAll(),
    stopListener: async () => {
      await processor.stop();
      faults.cancelTimers();
      await listener.stop();
    },
    startListener: async () => {
      if (closed) throw new Error('simulator is closed');
      if (listener.listening) return;
      queue.startupRecovery();
      await listener.start();
      processor.start();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await processor.stop();
      faults.cancelTimers();
      await listener.stop();
      cache.clear();
    },
  };
}
