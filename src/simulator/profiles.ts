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
  /**
   * `GET /queue/{q}/list` (3.2–6.6, docs/protocol.md §5.3): `dto` pages of `SessionQueueItemDTO` (no session, ≤5.15),
   * `full` pages of whole `SessionQueueItem`s with a `destination` filter (6.0–6.6), `none` once removed (6.7).
   */
  readonly listRoute: 'dto' | 'full' | 'none';
  /**
   * A queue row that is not there raises `SessionQueueItemNotFoundError` through routes that do not catch it: GET and
   * cancel of a missing item answer Starlette's plain-text 500, as a real fault does (≤5.15, docs/protocol.md §5.2).
   */
  readonly missingItemIsFault: boolean;
  /** GET of another queue's item is the 500 quoting a 404 (6.7+); before, the route ignores the path's queue. */
  readonly itemReadChecksQueue: boolean;
  /** Cancel and delete of another queue's item are a 404 (6.14+); before, they act on the item anyway. */
  readonly itemWriteChecksQueue: boolean;
  /** Deleting a missing item is a 404 (6.12+); 6.0–6.11 answer 200 `null`. */
  readonly deleteMissingIs404: boolean;
  /**
   * A cancel re-sets a finished item's status to `canceled`, with an event (4.2.4–5.15: `_set_queue_item_status` checks
   * nothing, session_queue_sqlite.py@v5.15.0); 3.x–4.2.3 and 6.0+ leave finished items alone.
   */
  readonly cancelOverwritesFinished: boolean;
  /** A failure after a cancel turns the item `failed` (≤5.15, `fail_queue_item` / `_handle_error_event`); 6.0+ keep it. */
  readonly failureOverwritesFinished: boolean;
  /**
   * ≤4.2.3 the queue follows session events (session_queue_sqlite.py@v4.2.3 `_on_session_event`): `invocation_error` is
   * emitted before the `failed` status, `graph_execution_state_complete` before `completed`, a cancel emits
   * `session_canceled` after its status event.
   */
  readonly queueFollowsSessionEvents: boolean;
  /** `graph_execution_state_complete` also ends a canceled run (4.0–4.2.3); 3.x skips it (invocation_processor_default.py@3.7.0). */
  readonly completeEventOnCancel: boolean;
  /** `DELETE /queue/{q}/i/{id}`, `delete_all_except_current`, `DELETE /queue/{q}/d/{destination}` (6.0+). */
  readonly queueDeleteRoutes: boolean;
  /** `GET /queue/{q}/list_all` (6.0+). */
  readonly listAllRoute: boolean;
  /** `counts_by_destination`, `cancel_by_destination` (5.0+). */
  readonly destinationRoutes: boolean;
  /** `retry_items_by_id`, `cancel_all_except_current` (5.7+). */
  readonly retryRoutes: boolean;
  /** `POST /images/images_by_names` (6.0.0a10+, the gallery's optimistic updates, docs/protocol.md §5.5). */
  readonly imagesByNamesRoute: boolean;
  /** `GET /images/names` (6.0.0a8+). */
  readonly imageNamesRoute: boolean;
  /**
   * The web UI mounted at `/` serves `index.html` for every GET no route takes (6.12+, SPA routing in
   * `no_cache_staticfiles.py`); before, such a GET is a 404. Other methods are a 405 either way.
   */
  readonly spaFallback: boolean;
  /** `waiting` counts in `SessionQueueStatus`, `BatchStatus` and destination counts (6.14+, workflow calls). */
  readonly waitingStatus: boolean;
  /**
   * `GET /queue/{q}/status` gives admins their own `user_pending`/`user_in_progress` too (HEAD); 6.13.5–6.13.8 give
   * them `null` (status events always carry the owner's counts).
   */
  readonly adminRouteUserCounts: boolean;
  /** Fields of the 5.10–6.8 queue item models (API validation runs, published workflows, credits), with defaults. */
  readonly itemModelExtras: readonly ItemModelExtra[];
  /**
   * A node that finishes after its item was canceled is dropped: no result, no `invocation_complete`, though its image
   * is saved (3.x, invocation_processor_default.py@3.7.0); from 4.0 the late output is kept and announced (§8.5).
   */
  readonly cancelDropsLateOutput: boolean;
  /**
   * `GET /queue/{q}/i/{id}` sets `response_model_exclude_none` (4.2.4+, docs/protocol.md §5.2); the other item routes
   * (cancel, current, next, list_all, items_by_ids) never do.
   */
  readonly itemReadExcludesNone: boolean;
  /** `ready_order` and `indegree` in the session dump (6.10+, graph.py@v6.10.0). */
  readonly sessionReadyOrder: boolean;
  /** 6.14 node types, among them the video nodes (`video_output`) and `GET /videos/i/{name}` (docs/protocol.md §4.1). */
  readonly nodes614: boolean;
}

/** Queue item model fields of 5.10–6.8 that later versions dropped. */
export type ItemModelExtra = 'is_api_validation_run' | 'published_workflow_id' | 'api_input_fields' | 'api_output_fields' | 'credits';

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
  listRoute: 'none',
  missingItemIsFault: false,
  itemReadChecksQueue: true,
  itemWriteChecksQueue: true,
  deleteMissingIs404: true,
  cancelOverwritesFinished: false,
  failureOverwritesFinished: false,
  queueFollowsSessionEvents: false,
  completeEventOnCancel: false,
  queueDeleteRoutes: true,
  listAllRoute: true,
  destinationRoutes: true,
  retryRoutes: true,
  imagesByNamesRoute: true,
  imageNamesRoute: true,
  spaFallback: true,
  waitingStatus: true,
  adminRouteUserCounts: true,
  itemModelExtras: [],
  cancelDropsLateOutput: false,
  itemReadExcludesNone: true,
  sessionReadyOrder: true,
  nodes614: true,
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
  listRoute: 'full',
  itemReadChecksQueue: false,
  itemWriteChecksQueue: false,
  deleteMissingIs404: false,
  spaFallback: false,
  waitingStatus: false,
  itemModelExtras: ['is_api_validation_run', 'published_workflow_id', 'credits'],
  sessionReadyOrder: false,
  nodes614: false,
};

/** The queue routes and checks that 6.0 added, as 5.15 lacks them (session_queue.py@v5.15.0). */
const before6: Partial<ProfileSpec> = {
  listRoute: 'dto',
  missingItemIsFault: true,
  cancelOverwritesFinished: true,
  failureOverwritesFinished: true,
  queueDeleteRoutes: false,
  listAllRoute: false,
  imagesByNamesRoute: false,
  imageNamesRoute: false,
};

/** 5.0–5.15: no item ids from enqueue, finished items pruned at startup. */
const v5: ProfileSpec = {
  ...v6,
  ...before6,
  name: '5.15',
  version: '5.15.0',
  outputMeta: true,
  itemIdsInEnqueueResult: false,
  startupPrune: true,
  itemModelExtras: ['is_api_validation_run', 'published_workflow_id', 'api_input_fields', 'api_output_fields', 'credits'],
};

/** 4.2.4–4.2.x: modern field names, results kept, `invocation_denoise_progress`, no origin/destination. */
const v424: ProfileSpec = {
  ...v5,
  name: '4.2.4',
  version: '4.2.4',
  outputMeta: false,
  progressEvent: 'invocation_denoise_progress',
  originDestination: false,
  destinationRoutes: false,
  retryRoutes: false,
  itemModelExtras: [],
};

/** 4.0–4.2.3: legacy field names and a queue item that never gets its results. */
const v4: ProfileSpec = {
  ...v424,
  name: '4.2.3',
  version: '4.2.3',
  eventFields: 'legacy',
  sessionResults: false,
  progressEvent: 'generator_progress',
  itemReadExcludesNone: false,
  cancelOverwritesFinished: false,
  queueFollowsSessionEvents: true,
  completeEventOnCancel: true,
};

/** 3.2–3.7: as 4.0, plus the sessions API that still serves live results. */
const v3: ProfileSpec = { ...v4, name: '3.7', version: '3.7.0', sessionsRoute: true, cancelDropsLateOutput: true, completeEventOnCancel: false };

/** Every profile the simulator implements, by name. */
export const PROFILES: Readonly<Record<string, ProfileSpec>> = {
  head,
  '3.7': v3,
  '4.2.3': v4,
  '4.2.4': v424,
  '5.15': v5,
  '6.3': v6,
  '6.8': { ...v6, name: '6.8', version: '6.8.1', itemIdsRoute: true, listRoute: 'none', itemReadChecksQueue: true },
  /**
   * A server whose `invocation_complete` carries no image names (the seed guide's claim about newer servers,
   * docs/protocol.md §7): otherwise HEAD, so its routes and checks are HEAD's.
   */
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
    itemWriteChecksQueue: false,
    waitingStatus: false,
    adminRouteUserCounts: false,
    nodes614: false,
  },
};

export function getProfile(name: string): ProfileSpec {
  const p = PROFILES[name];
  if (!p) throw new Error(`unknown simulator profile '${name}' (known: ${Object.keys(PROFILES).join(', ')})`);
  return p;
}
