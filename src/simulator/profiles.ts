/**
 * Server generations the simulator can imitate, as data (docs/protocol.md §6.1 is the source of every flag).
 * A new generation is a new row; code consults flags, never profile names.
 */
export interface ProfileSpec {
  /** Name used by `SimulatorOptions.profile` / `--profile`. */
  readonly name: string;
  /** What `GET /app/version` answers (a Python package version, not strict semver, docs/protocol.md §5.6). */
  readonly version: string;
  /** `GET /auth/status` exists (≥ 6.12, docs/protocol.md §5.7); older servers answer 404. */
  readonly authStatusEndpoint: boolean;
  /** Sockets join `user:<id>`, `workflows:shared`, `admin` at connect (6.14+, docs/protocol.md §1.3). */
  readonly roomsAtConnect: boolean;
  /** `subscribe_queue` also (re)joins `user:<id>` and `admin` (6.12+, docs/protocol.md §1.4). */
  readonly subscribeJoinsUserRooms: boolean;
  /**
   * One emit per room instead of one emit to a room list, so a socket in both `user:system` and `admin`
   * gets two copies (6.13.x single-user, docs/protocol.md §6.2).
   */
  readonly duplicateDelivery: boolean;
  /** Sanitized status/batch companions to the queue room (6.14+, docs/protocol.md §2.2). */
  readonly sanitizedCompanions: boolean;
  /** Name of the per-step progress event (`invocation_progress` from 5.0). */
  readonly progressEvent: 'invocation_progress' | 'invocation_denoise_progress' | 'generator_progress';
  /** `device` field in progress events (6.14+). */
  readonly progressDevice: boolean;
  /** `status_sequence` in status events and queue items (6.13+). */
  readonly statusSequence: boolean;
  /** `output_meta: null` in `invocation_complete.result` (5.11+). */
  readonly outputMeta: boolean;
  /** `invocation_complete.result` carries image fields; false models a server that strips them. */
  readonly resultImageNames: boolean;
  /** The finished session (with results) is written back to the queue item (≥ 4.2.4, docs/protocol.md §7). */
  readonly sessionResults: boolean;
  /** `EnqueueBatchResult.item_ids` (6.0+). */
  readonly itemIdsInEnqueueResult: boolean;
  /** Terminal items are deleted when the server starts (3.2–5.15, docs/protocol.md §6.1). */
  readonly startupPrune: boolean;
  /** `queue_items_canceled` for bulk cancels of pending items (6.14+, docs/protocol.md §2.3). */
  readonly queueItemsCanceledEvent: boolean;
  /** `session.prepared_iteration_paths` and the workflow-call fields (6.14+, docs/protocol.md §3, §5.2). */
  readonly iterationPaths: boolean;
  readonly workflowCallFields: boolean;
  /** `queue_status.user_pending` / `user_in_progress` (6.13.5+). */
  readonly userQueueCounts: boolean;
  /**
   * Payload field names: `legacy` = 3.2–4.2.3 (`queue_item_id`, `graph_execution_state_id`, `node`, a nested
   * status event, docs/protocol.md §6.1); `modern` from 4.2.4.
   */
  readonly eventFields: 'legacy' | 'modern';
  /** Every event goes to the queue room (before 6.12: no user or admin rooms). */
  readonly queueRoomRouting: boolean;
  /** `origin` / `destination` in events and items (5.0+). */
  readonly originDestination: boolean;
  /** `user_id` in events and items (6.12+). */
  readonly userIds: boolean;
  /** `GET /queue/{q}/item_ids` and `POST items_by_ids` (6.7+); `GET /queue/{q}/list` before. */
  readonly itemIdsRoute: boolean;
  /** `GET /sessions/{id}` returns the live session with results (3.x only). */
  readonly sessionsRoute: boolean;
}

const head: ProfileSpec = {
  name: 'head',
  version: '6.14.0-alpha',
  authStatusEndpoint: true,
  roomsAtConnect: true,
  subscribeJoinsUserRooms: true,
  duplicateDelivery: false,
  sanitizedCompanions: true,
  progressEvent: 'invocation_progress',
  progressDevice: true,
  statusSequence: true,
  outputMeta: true,
  resultImageNames: true,
  sessionResults: true,
  itemIdsInEnqueueResult: true,
  startupPrune: false,
  queueItemsCanceledEvent: true,
  iterationPaths: true,
  workflowCallFields: true,
  userQueueCounts: true,
  eventFields: 'modern',
  queueRoomRouting: false,
  originDestination: true,
  userIds: true,
  itemIdsRoute: true,
  sessionsRoute: false,
};

/** 6.0–6.11: queue-room routing, no users, no status_sequence (docs/protocol.md §6.1). */
const v6: ProfileSpec = {
  ...head,
  name: '6.3',
  version: '6.3.0',
  authStatusEndpoint: false,
  roomsAtConnect: false,
  subscribeJoinsUserRooms: false,
  sanitizedCompanions: false,
  progressDevice: false,
  statusSequence: false,
  queueItemsCanceledEvent: false,
  iterationPaths: false,
  workflowCallFields: false,
  userQueueCounts: false,
  queueRoomRouting: true,
  userIds: false,
  itemIdsRoute: false,
};

/** 5.0–5.15: no item ids from enqueue, finished items pruned at startup. */
const v5: ProfileSpec = { ...v6, name: '5.15', version: '5.15.0', outputMeta: true, itemIdsInEnqueueResult: false, startupPrune: true };

/** 4.2.4–4.2.x: modern field names, results kept, `invocation_denoise_progress`, no origin/destination. */
const v424: ProfileSpec = { ...v5, name: '4.2.4', version: '4.2.4', outputMeta: false, progressEvent: 'invocation_denoise_progress', originDestination: false };

/** 4.0–4.2.3: legacy field names and a queue item that never gets its results. */
const v4: ProfileSpec = { ...v424, name: '4.2.3', version: '4.2.3', eventFields: 'legacy', sessionResults: false, progressEvent: 'generator_progress' };

/** 3.2–3.7: as 4.0, plus the sessions API that still serves live results. */
const v3: ProfileSpec = { ...v4, name: '3.7', version: '3.7.0', sessionsRoute: true };

/** Every profile the simulator implements, by name. */
export const PROFILES: Readonly<Record<string, ProfileSpec>> = {
  head,
  '3.7': v3,
  '4.2.3': v4,
  '4.2.4': v424,
  '5.15': v5,
  '6.3': v6,
  '6.8': { ...v6, name: '6.8', version: '6.8.1', itemIdsRoute: true },
  /** A server whose `invocation_complete` carries no image names (the seed guide's claim, docs/protocol.md §7). */
  'legacy-no-names': { ...head, name: 'legacy-no-names', resultImageNames: false },
  '6.13': {
    ...head,
    name: '6.13',
    version: '6.13.8',
    roomsAtConnect: false,
    duplicateDelivery: true,
    sanitizedCompanions: false,
    progressDevice: false,
    queueItemsCanceledEvent: false,
    iterationPaths: false,
    workflowCallFields: false,
  },
};

export function getProfile(name: string): ProfileSpec {
  const p = PROFILES[name];
  if (!p) throw new Error(`unknown simulator profile '${name}' (known: ${Object.keys(PROFILES).join(', ')})`);
  return p;
}
