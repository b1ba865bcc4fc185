import type { EventSink } from './events';
import type { JsonObject } from './json';
import type { ProfileSpec } from './profiles';

/*
 * Older server generations, as differences from HEAD applied on the way out (docs/protocol.md §6.1): payloads are built
 * once in the newest shape and reshaped here, so every generation shares one processor.
 */

type Payload = Record<string, unknown>;

/** Field renames of v4.2.4 (commits 9bd78823a3 / 084cf26ed6), reversed. */
const LEGACY_NAMES: ReadonlyMap<string, string> = new Map([
  ['item_id', 'queue_item_id'],
  ['batch_id', 'queue_batch_id'],
  ['session_id', 'graph_execution_state_id'],
  ['invocation', 'node'],
  ['invocation_source_id', 'source_node_id'],
]);

function withoutNewFields(p: Payload, profile: ProfileSpec): Payload {
  const out: Payload = { ...p };
  if (!profile.userIds) delete out['user_id'];
  if (!profile.originDestination) {
    delete out['origin'];
    delete out['destination'];
  }
  if (!profile.statusSequence) delete out['status_sequence'];
  return out;
}

/** One event in the shape `profile`'s server sent; `null` when that generation had no such event. */
export function eventForGeneration(event: string, payload: Payload, profile: ProfileSpec): { event: string; payload: Payload } | null {
  const p = withoutNewFields(payload, profile);
  if (profile.eventFields === 'modern') return { event, payload: p };
  switch (event) {
    case 'invocation_started':
    case 'invocation_complete':
    case 'invocation_error': {
      const out: Payload = {};
      for (const [k, v] of Object.entries(p)) out[LEGACY_NAMES.get(k) ?? k] = v;
      if (event === 'invocation_error') {
        // Before 4.2.4 an error was `error_type` plus one `error` text (the traceback).
        out['error'] = p['error_traceback'];
        delete out['error_message'];
        delete out['error_traceback'];
      }
      return { event, payload: out };
    }
    case 'queue_item_status_changed':
      // 3.3–4.2.3 nested the item (docs/protocol.md §6.1).
      return {
        event,
        payload: {
          queue_id: p['queue_id'],
          queue_item: {
            queue_id: p['queue_id'],
            item_id: p['item_id'],
            status: p['status'],
            batch_id: p['batch_id'],
            session_id: p['session_id'],
            error: p['error_traceback'] ?? null,
            created_at: p['created_at'],
            updated_at: p['updated_at'],
            started_at: p['started_at'],
            completed_at: p['completed_at'],
          },
          batch_status: p['batch_status'],
          queue_status: p['queue_status'],
        },
      };
    case 'batch_enqueued':
      return { event, payload: { queue_id: p['queue_id'], batch_id: p['batch_id'], enqueued: p['enqueued'] } };
    case 'generator_progress':
    case 'invocation_progress':
    case 'invocation_denoise_progress': {
      const out: Payload = {};
      for (const [k, v] of Object.entries(p)) out[LEGACY_NAMES.get(k) ?? k] = v;
      return { event: 'generator_progress', payload: { ...out, progress_image: p['image'] ?? null, step: 1, total_steps: 2, order: 0 } };
    }
    default:
      return { event, payload: p };
  }
}

/** Routes and reshapes for an older generation; HEAD-shaped servers get the hub as it is. */
export function sinkForGeneration(hub: EventSink, profile: ProfileSpec): EventSink {
  if (profile.eventFields === 'modern' && !profile.queueRoomRouting && profile.userIds) return hub;
  const send = (event: string, payload: Payload, route: (e: string, p: Payload) => void): void => {
    const shaped = eventForGeneration(event, payload, profile);
    if (shaped) route(shaped.event, shaped.payload);
  };
  const queueOf = (p: Payload): string => (typeof p['queue_id'] === 'string' ? p['queue_id'] : 'default');
  if (!profile.queueRoomRouting) {
    return {
      toOwnerAndAdmin: (e, p, owner) => send(e, p, (e2, p2) => hub.toOwnerAndAdmin(e2, p2, owner)),
      progress: (e, p, owner) => send(e, p, (e2, p2) => hub.progress(e2, p2, owner)),
      toOwnerWithCompanion: (e, full, sanitized, owner, q) => send(e, full, (e2, p2) => hub.toOwnerWithCompanion(e2, p2, sanitized, owner, q)),
      toAdminWithQueueCompanion: (e, full, empty, q) => send(e, full, (e2, p2) => hub.toAdminWithQueueCompanion(e2, p2, empty, q)),
      toQueueRoom: (e, p, q) => send(e, p, (e2, p2) => hub.toQueueRoom(e2, p2, q)),
    };
  }
  // Before 6.12 there were no user or admin rooms: every event went to the queue room.
  const toRoom = (e: string, p: Payload, q = queueOf(p)): void => send(e, p, (e2, p2) => hub.toQueueRoom(e2, p2, q));
  return {
    toOwnerAndAdmin: (e, p) => toRoom(e, p),
    progress: (e, p) => toRoom(e, p),
    toOwnerWithCompanion: (e, full, _s, _o, q) => toRoom(e, full, q),
    toAdminWithQueueCompanion: (e, full, _e, q) => toRoom(e, full, q),
    toQueueRoom: (e, p, q) => toRoom(e, p, q),
  };
}

/**
 * An output as the session stores it and `invocation_complete` carries it: from 5.11 every output model has
 * `output_meta` (null here), first (baseinvocation.py@v5.11.0). Routes that drop nulls drop it again.
 */
export function storedOutput(output: JsonObject, profile: ProfileSpec): JsonObject {
  return profile.outputMeta ? { output_meta: null, ...output } : output;
}

/** A queue item as `GET /queue/{q}/i/{id}` of `profile`'s generation answered it. */
export function itemForGeneration(item: JsonObject, profile: ProfileSpec): JsonObject {
  const out = withoutNewFields(item, profile) as JsonObject;
  if (!profile.userIds) {
    delete out['user_display_name'];
    delete out['user_email'];
  }
  if (!profile.progressDevice) delete out['device'];
  if (!profile.originDestination) delete out['retried_from_item_id'];
  if (profile.eventFields !== 'legacy') return out;
  // Before 4.2.4 one `error` field (the traceback) stood where the three are (session_queue_common.py@v4.2.3).
  const legacy: JsonObject = {};
  for (const [k, v] of Object.entries(out)) {
    if (k === 'error_type') legacy['error'] = out['error_traceback'] ?? null;
    else if (k !== 'error_message' && k !== 'error_traceback') legacy[k] = v;
  }
  return legacy;
}
