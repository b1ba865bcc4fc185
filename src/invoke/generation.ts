/** What a server generation offers a client (docs/protocol.md §6.1), from its `/app/version`. */
export interface ServerCaps {
  version: string | null;
  /** Queue items keep `session.results` with image names (4.2.4+). */
  sessionResults: boolean;
  /** `GET /queue/{q}/item_ids` and `POST items_by_ids` exist (6.7+). */
  itemIdsRoute: boolean;
  /** Finished items are deleted at server start (3.2–5.15). */
  prunesOnStartup: boolean;
  /** `GET /sessions/{id}` serves the live session with results (3.x: the queue item never gets them). */
  sessionsRoute: boolean;
  /** `call_saved_workflow` makes child items with a `root_item_id` (6.14+). */
  workflowCalls: boolean;
  /** `GET /queue/{q}/i/{id}` answers 500, not 404, for an item that does not exist (before 6.0, docs/protocol.md §5.2). */
  missingItemIs500: boolean;
  /** `GET /queue/{q}/list`, cursor-paginated (3.2 … 6.6). */
  listRoute: boolean;
  /** `POST /images/images_by_names` (6.0+). */
  imagesByNames: boolean;
}

/** `"6.14.0-alpha"`, `"6.13.0.rc1"`, `"5.10.0dev1"` → [6,14,0]; null when there is no leading number. */
export function parseVersion(v: string | null | undefined): [number, number, number] | null {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(v ?? '');
  if (!m) return null;
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

function atLeast(v: [number, number, number], min: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) {
    if (v[i]! !== min[i]!) return v[i]! > min[i]!;
  }
  return true;
}

/** Unknown versions are treated as the newest server. */
export function capsFor(version: string | null): ServerCaps {
  const v = parseVersion(version);
  if (!v) {
    return { version, sessionResults: true, itemIdsRoute: true, prunesOnStartup: false, sessionsRoute: false, workflowCalls: true, missingItemIs500: false, listRoute: false, imagesByNames: true };
  }
  return {
    version,
    sessionResults: atLeast(v, [4, 2, 4]),
    itemIdsRoute: atLeast(v, [6, 7, 0]),
    prunesOnStartup: !atLeast(v, [6, 0, 0]),
    sessionsRoute: atLeast(v, [3, 2, 0]) && !atLeast(v, [4, 0, 0]),
    workflowCalls: atLeast(v, [6, 14, 0]),
    missingItemIs500: !atLeast(v, [6, 0, 0]),
    listRoute: atLeast(v, [3, 2, 0]) && !atLeast(v, [6, 7, 0]),
    imagesByNames: atLeast(v, [6, 0, 0]),
  };
}
