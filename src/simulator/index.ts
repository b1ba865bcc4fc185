/**
 * An embedded InvokeAI server simulator: the real HTTP + socket.io protocol of InvokeAI (default: the newest
 * generation, 6.14), executing submitted graphs with simulated nodes, real PNG bytes, boards and queue items.
 * Start it in tests with {@link startSimulator}; everything binds to 127.0.0.1.
 */
import { accessRules } from './access';
import { SimAuth, type SimulatorAuth } from './auth';
import { BoardStore, type BoardDTO } from './boards';
import { InvocationCache } from './cache';
import type { SimContext } from './context';
import { EventPublisher } from './events';
import { itemForGeneration, sinkForGeneration } from './generations';
import { FaultInjector, type Faults } from './faults';
import { ImageStore, type ImageCategory, type ImageDTO } from './images';
import { isJsonObject, type JsonObject } from './json';
import { Processor } from './processor';
import { getProfile, type ProfileSpec } from './profiles';
import { SessionQueue } from './queue';
import { Router } from './router';
import { appRoutes } from './routes/app';
import { authRoutes } from './routes/auth';
import { boardRoutes } from './routes/boards';
import { imageRoutes } from './routes/images';
import { uploadRoutes } from './routes/upload';
import { queueRoutes } from './routes/queue';
import { Listener } from './server';
import { SocketHub } from './sockets';
import { UserStore, type SimUser, type SimUserSpec } from './users';
import { workflowRoutes } from './routes/workflows';
import { WorkflowLibrary, type WorkflowRecord, type WorkflowRecordDTO } from './workflows';

export type { BoardDTO } from './boards';
export type { FaultAction, FaultRule, Faults, NodeFailure } from './faults';
export type { ImageCategory, ImageDTO } from './images';
export type { WorkflowRecordDTO } from './workflows';
export type { Json, JsonObject } from './json';
export { PROFILES, type ProfileSpec } from './profiles';
export { HIDDEN_SAVE_TYPE } from './catalog';
export { sampleGraph, type SampleGraphOptions } from './samples';
export type { LoginAttempt, SeenCredential, SimulatorAuth } from './auth';
export { DEFAULT_ADMIN, type SimUser, type SimUserSpec } from './users';

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
  /**
   * Multi-user mode as at InvokeAI HEAD (docs/protocol.md §1.3, §2.4, §5): `POST /auth/login` hands out HS256 JWTs, every
   * route but `/app/version`, `/auth/status` and `/auth/login` needs `Authorization: Bearer` (401 otherwise), socket
   * handshakes without a valid token are refused, queue items belong to the user who enqueued them, and non-admins
   * see other users' items redacted. One administrator always exists: {@link DEFAULT_ADMIN}. The auth rules are
   * HEAD's whatever the `profile`; event routing follows the profile. Needs a profile with auth (6.12+).
   * @default false
   */
  multiuser?: boolean;
  /** More users of a multi-user simulator, besides {@link DEFAULT_ADMIN}. @default [] */
  users?: readonly SimUserSpec[];
  /**
   * Lifetime of every token minted (login and `X-Refreshed-Token`), seconds; for tests of expiry.
   * @default 86400, or 604800 for a login with `remember_me`
   */
  tokenTtlSec?: number;
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

/** Options of {@link Simulator.saveWorkflow}. */
export interface SaveWorkflowOptions {
  /** Owner of the saved workflow. @default 'system' (single-user), the default admin's id (multi-user) */
  userId?: string;
  /** Shared with every user. @default true in single-user mode, false in multi-user mode (as the route does) */
  isPublic?: boolean;
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
   * Same as `POST /workflows/ {workflow}`: saves an editor workflow (`WorkflowWithoutID`) to the workflow library and
   * returns the `WorkflowRecordDTO`; its `workflow_id` is what a `call_saved_workflow` node names (6.14+ profiles).
   * Throws when the server would answer 422.
   */
  saveWorkflow(workflow: Readonly<Record<string, unknown>>, opts?: SaveWorkflowOptions): WorkflowRecordDTO;
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
  /** Credentials the server received, logins and refreshed tokens; the users of a multi-user simulator. */
  readonly auth: SimulatorAuth;
  /** Creates a user of a multi-user simulator (throws in single-user mode or for a taken email). */
  addUser(spec: SimUserSpec): SimUser;
  /**
   * Revokes every token of the user (a password change at HEAD bumps `token_epoch`): later requests get 401 and
   * handshakes are refused, and the server disconnects the user's sockets. The password stays valid.
   */
  revokeTokens(userId: string): void;
  /** Every token minted so far is expired from now on (the server's token clock jumps past their `exp`). */
  expireTokens(): void;
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
  const profile = getProfile(opts.profile ?? 'head');
  const log = opts.logger ?? ((): void => undefined);
  const base = normalizeBase(opts.base);

  const images = new ImageStore();
  const boards = new BoardStore(images);
  const queue = new SessionQueue(profile);
  const cache = new InvocationCache(opts.nodeCacheSize ?? 512);
  const faults = new FaultInjector(log);
  const multiuser = opts.multiuser ?? false;
  if (multiuser && !profile.authStatusEndpoint) throw new Error(`multiuser: profile '${profile.name}' (${profile.version}) predates multi-user mode (6.12)`);
  const auth = new SimAuth(multiuser, opts.tokenTtlSec);
  for (const u of opts.users ?? []) auth.userStore.add(u);
  const hub = new SocketHub(profile, faults, log, auth);
  const events = new EventPublisher(sinkForGeneration(hub, profile), queue, profile);
  queue.notifier = events;
  const workflows = new WorkflowLibrary();
  // `validate_selected_workflow`: in multi-user mode a default, own, public workflow, or an admin's item.
  const mayCall = (record: WorkflowRecord, userId: string): boolean => {
    if (!multiuser) return true;
    const meta = record.workflow['meta'];
    const isDefault = isJsonObject(meta) && meta['category'] === 'default';
    return isDefault || record.user_id === userId || record.is_public || auth.userStore.get(userId)?.isAdmin === true;
  };
  const processor = new Processor(
    { queue, images, boards, cache, faults, events, profile, workflows, mayCall, log },
    { nodeDelayMs: opts.nodeDelayMs ?? 2, progressSteps: opts.progressSteps ?? 2 },
  );
  const ctx: SimContext = { profile, queue, images, boards, cache, processor, events, workflows, log };
  const router = new Router();
  router.gate = auth;
  appRoutes(router, ctx);
  authRoutes(router, ctx, auth);
  accessRules(router, ctx, auth);
  queueRoutes(router, ctx);
  boardRoutes(router, ctx);
  imageRoutes(router, ctx);
  uploadRoutes(router, ctx);
  workflowRoutes(router, ctx, multiuser);

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
      return i ? itemForGeneration(queue.dump(i, true), profile) : undefined;
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
    saveWorkflow: (workflow, o = {}) => {
      const owner = o.userId ?? (multiuser ? (auth.userStore.list().find((u) => u.isAdmin)?.userId ?? 'system') : 'system');
      const { record, issues } = workflows.create(structuredClone(workflow) as JsonObject, owner, o.isPublic ?? !multiuser, ['workflow']);
      if (!record) throw new Error(`saveWorkflow: invalid workflow: ${issues.map((i) => `${i.loc.join('.')}: ${i.msg}`).join('; ')}`);
      return WorkflowLibrary.toDTO(record);
    },
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
    auth,
    addUser: (spec) => {
      if (!multiuser) throw new Error('addUser: the simulator is in single-user mode');
      return UserStore.toSimUser(auth.userStore.add(spec));
    },
    revokeTokens: (userId) => auth.revoke(userId),
    expireTokens: () => auth.expireAll(),
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
