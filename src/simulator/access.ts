import type { SimAuth } from './auth';
import { uuid } from './clock';
import type { SimContext } from './context';
import { isJsonObject, stripNulls, type JsonObject } from './json';
import { HttpError, SYSTEM_CALLER, type Caller, type RouteResult, type Router, type Wrapper } from './router';
import { dumpSession, newSession } from './session';

const REDACTED = 'redacted';

/** Fields `sanitize_queue_item_for_user` clears (`routers/session_queue.py@HEAD`); the route then omits nulls. */
const CLEARED = [
  'user_display_name',
  'user_email',
  'origin',
  'destination',
  'field_values',
  'retried_from_item_id',
  'workflow_call_id',
  'parent_item_id',
  'parent_session_id',
  'root_item_id',
  'workflow_call_depth',
  'workflow',
  'error_type',
  'error_message',
  'error_traceback',
];

const ITEM_READS = ['/queue/{queue_id}/i/{item_id}', '/queue/{queue_id}/current', '/queue/{queue_id}/next', '/queue/{queue_id}/list_all'];
const VIDEO_READS = ['/videos/i/{video_name}', '/videos/i/{video_name}/full', '/videos/i/{video_name}/thumbnail', '/videos/i/{video_name}/urls'];
const IMAGE_READS = [
  '/images/i/{image_name}',
  '/images/i/{image_name}/full',
  '/images/i/{image_name}/thumbnail',
  '/images/i/{image_name}/metadata',
  '/images/i/{image_name}/urls',
  '/images/i/{image_name}/workflow',
];

/**
 * The route's view of an item for a caller: other users' items redacted (`_REDACTIONS` of `sanitize_queue_item_for_user`,
 * routers/session_queue.py@HEAD): cleared fields are nulls, which only `GET …/i/{id}` then drops.
 */
function itemViewer(ctx: SimContext, auth: SimAuth): (item: JsonObject, caller: Caller, dropNulls: boolean) => JsonObject {
  return (item, caller, dropNulls) => {
    const owner = typeof item['user_id'] === 'string' ? auth.userStore.get(item['user_id']) : undefined;
    const out: JsonObject = { ...item };
    if (owner && 'user_email' in out) {
      out['user_email'] = owner.email;
      if (owner.displayName === null) delete out['user_display_name'];
      else out['user_display_name'] = owner.displayName;
    }
    if (caller.isAdmin || item['user_id'] === caller.userId) return out;
    for (const k of CLEARED) if (k in out) out[k] = null;
    out['user_id'] = REDACTED;
    out['batch_id'] = REDACTED;
    out['session_id'] = REDACTED;
    out['priority'] = 0;
    const empty = newSession({ id: uuid(), nodes: {}, edges: [] });
    out['session'] = { ...dumpSession(empty, ctx.profile), id: REDACTED };
    return dropNulls ? (stripNulls(out) as JsonObject) : out;
  };
}

/**
 * What a multi-user server shows whom (docs/protocol.md §5 intro, §5.2, §5.5): non-admins see other users' queue items
 * redacted, may not cancel or delete them, and get 403 for images that are not theirs (or do not exist). Admins
 * see everything. Applied around the routes, so the routes themselves stay single-user code.
 */
export function accessRules(r: Router, ctx: SimContext, auth: SimAuth): void {
  if (!auth.multiuser) return;
  const owners = new Map<string, string>();
  queueAccess(r, ctx, auth, owners);
  imageAccess(r, ctx, owners);
}

/** Item reads redacted, mutations of others' items refused; enqueues remember which session is whose. */
function queueAccess(r: Router, ctx: SimContext, auth: SimAuth, owners: Map<string, string>): void {
  const { queue } = ctx;
  const view = itemViewer(ctx, auth);
  const viewAll = (json: unknown, caller: Caller, dropNulls: boolean): unknown => {
    if (Array.isArray(json)) return json.map((j) => viewAll(j, caller, dropNulls));
    return isJsonObject(json) && typeof json['item_id'] === 'number' ? view(json, caller, dropNulls) : json;
  };
  const viewed: Wrapper = async (req, next) => {
    const res = await next();
    const dropNulls = req.method === 'GET' && req.route === ITEM_READS[0] && ctx.profile.itemReadExcludesNone;
    return 'json' in res && res.status < 300 ? { ...res, json: viewAll(res.json, req.caller, dropNulls) } : res;
  };
  r.wrap('GET', ITEM_READS, viewed);
  r.wrap('POST', ['/queue/{queue_id}/items_by_ids'], viewed);
  r.wrap(['PUT', 'DELETE'], ['/queue/{queue_id}/i/{item_id}/cancel', '/queue/{queue_id}/i/{item_id}'], async (req, next) => {
    const item = queue.get(Number(req.params['item_id']));
    // Ownership is checked after the queue (the route's 404 comes first, routers/session_queue.py@v6.14.0-rc1).
    const inQueue = item !== undefined && (!ctx.profile.itemWriteChecksQueue || item.queue_id === req.params['queue_id']);
    if (item && inQueue && !req.caller.isAdmin && item.user_id !== req.caller.userId)
      throw new HttpError(403, `You do not have permission to ${req.method === 'PUT' ? 'cancel' : 'delete'} this queue item`);
    return viewed(req, next);
  });
  r.wrap('POST', ['/queue/{queue_id}/enqueue_batch'], async (req, next) => {
    const res = await next();
    const ids = 'json' in res && isJsonObject(res.json) ? res.json['item_ids'] : undefined;
    for (const id of Array.isArray(ids) ? ids : []) {
      const item = typeof id === 'number' ? queue.get(id) : undefined;
      if (item) owners.set(item.session_id, item.user_id);
    }
    return res;
  });
}

/** `assert_image_read_access`: only an admin or the owner of the image's session may read it. */
function imageAccess(r: Router, { queue, images, videos }: SimContext, owners: Map<string, string>): void {
  /** session_id → owner, kept when the item is deleted: its images still belong to someone. */
  const ownerOfSession = (sessionId: string): string => {
    let owner = owners.get(sessionId);
    if (owner === undefined) {
      owner = queue.all().find((i) => i.session_id === sessionId)?.user_id;
      if (owner !== undefined) owners.set(sessionId, owner);
    }
    return owner ?? SYSTEM_CALLER.userId;
  };
  // An upload is its uploader's; seeded images (no session, no uploader) belong to nobody in particular: admins only.
  const mayRead = (img: { sessionId: string | null; ownerId?: string | undefined } | undefined, caller: Caller): boolean =>
    caller.isAdmin ||
    (img !== undefined && (img.ownerId !== undefined ? img.ownerId === caller.userId : img.sessionId !== null && ownerOfSession(img.sessionId) === caller.userId));
  // `assert_image_read_access` runs before the lookup: a missing image is a 403 too for non-admins.
  const guard: Wrapper = (req, next) => {
    if (!mayRead(images.get(req.params['image_name'] ?? ''), req.caller)) throw new HttpError(403, 'Not authorized to access this image');
    return next();
  };
  r.wrap(['GET', 'HEAD'], IMAGE_READS, guard);
  // `_assert_video_read_access` (routers/videos.py@v6.14.0-rc1): the same rule for the videos a session made.
  r.wrap(['GET', 'HEAD'], VIDEO_READS, (req, next) => {
    if (!mayRead(videos.get(req.params['video_name'] ?? ''), req.caller)) throw new HttpError(403, 'Not authorized to access this video');
    return next();
  });
  r.wrap(['PATCH', 'DELETE'], ['/images/i/{image_name}'], guard);
  r.wrap('POST', ['/images/images_by_names'], async (req, next): Promise<RouteResult> => {
    const res = await next();
    if (!('json' in res) || !Array.isArray(res.json)) return res;
    const dtos = res.json as JsonObject[];
    return { ...res, json: dtos.filter((d) => typeof d['image_name'] === 'string' && mayRead(images.get(d['image_name']), req.caller)) };
  });
}
