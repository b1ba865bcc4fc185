/**
 * Server generations the simulator can imitate, as data (PROTOCOL §6.1 is the source of every flag).
 * A new generation is a new row; code consults flags, never profile names.
 */
export interface ProfileSpec {
  /** Name used by `SimulatorOptions.profile` / `--profile`. */
  readonly name: string;
  /** What `GET /app/version` answers (a Python package version, not strict semver, PROTOCOL §5.6). */
  readonly version: string;
  /** `GET /auth/status` exists (≥ 6.12, PROTOCOL §5.7); older servers answer 404. */
  readonly authStatusEndpoint: boolean;
  /** Sockets join `user:<id>`, `workflows:shared`, `admin` at connect (6.14+, PROTOCOL §1.3). */
  readonly roomsAtConnect: boolean;
  /** `subscribe_queue` also (re)joins `user:<id>` and `admin` (6.12+, PROTOCOL §1.4). */
  readonly subscribeJoinsUserRooms: boolean;
  /**
   * One emit per room instead of one emit to a room list, so a socket in both `user:system` and `admin`
   * gets two copies (6.13.x single-user, PROTOCOL §6.2).
   */
  readonly duplicateDelivery: boolean;
  /** Sanitized status/batch companions to the queue room (6.14+, PROTOCOL §2.2). */
  readonly sanitizedCompanions: boolean;
  /** Name of the per-step progress event (`invocation_progress` from 5.0). */
  readonly progressEvent: 'invocation_progress' | 'invocation_denoise_progress';
  /** `device` field in progress events (6.14+). */
  readonly progressDevice: boolean;
  /** `status_sequence` in status events and queue items (6.13+). */
  readonly statusSequence: boolean;
  /** `output_meta: null` in `invocation_complete.result` (5.11+). */
  readonly outputMeta: boolean;
  /** `invocation_complete.result` carries image fields; false models a server that strips them. */
  readonly resultImageNames: boolean;
  /** The finished session (with results) is written back to the queue item (≥ 4.2.4, PROTOCOL §7). */
  readonly sessionResults: boolean;
  /** `EnqueueBatchResult.item_ids` (6.0+). */
  readonly itemIdsInEnqueueResult: boolean;
  /** Terminal items are deleted when the server starts (3.2–5.15, PROTOCOL §6.1). */
  readonly startupPrune: boolean;
  /** `queue_items_canceled` for bulk cancels of pending items (6.14+, PROTOCOL §2.3). */
  readonly queueItemsCanceledEvent: boolean;
  /** `session.prepared_iteration_paths` and the workflow-call fields (6.14+, PROTOCOL §3, §5.2). */
  readonly iterationPaths: boolean;
  readonly workflowCallFields: boolean;
  /** `queue_status.user_pending` / `user_in_progress` (6.13.5+). */
  readonly userQueueCounts: boolean;
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
};

/** Every profile the simulator implements, by name. */
export const PROFILES: Readonly<Record<string, ProfileSpec>> = {
  head,
  /** A server whose `invocation_complete` carries no image names (the seed guide's claim, PROTOCOL §7). */
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
