/** The simulator's public types: its options and the handle {@link startSimulator} resolves to. */
import type { BoardDTO } from './boards';
import type { Faults } from './faults';
import type { ImageCategory, ImageDTO } from './images';
import type { JsonObject } from './json';
import type { ProfileSpec } from './profiles';
import type { SimulatorAuth } from './auth';
import type { SimUser, SimUserSpec } from './users';
import type { VideoDTO } from './videos';
import type { WorkflowRecordDTO } from './workflows';

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

/** Options of {@link Simulator.seedVideos}. */
export interface SeedVideoOptions {
  /** `session_id` of the seeded videos. @default null */
  sessionId?: string;
  /** Exact video names (one per video). @default random `<uuid>.mp4` */
  names?: readonly string[];
  /** @default 832 */
  width?: number;
  /** @default 480 */
  height?: number;
  /** @default 81 */
  frames?: number;
  /** @default 16 */
  fps?: number;
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
  /** `VideoDTO` as `GET /videos/i/{name}` returns it (6.14+ profiles). */
  getVideo(name: string): VideoDTO | undefined;
  /** Image names of a board (`'none'` = uncategorized), oldest first; all images when omitted. */
  imageNames(boardId?: string): string[];
  getBoard(boardId: string): BoardDTO | undefined;
  listBoards(): BoardDTO[];
  /** `SessionQueueItem` as `GET /queue/{q}/i/{id}` of the generation returns it (nulls omitted from 4.2.4). */
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
  /**
   * Pre-existing videos (6.14+ profiles), e.g. for a `video` primitive or `video_concat` to read. `boardId` may be
   * `'none'`. Returns the video names, oldest first.
   */
  seedVideos(boardId: string, count: number, opts?: SeedVideoOptions): string[];
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
