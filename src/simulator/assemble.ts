import { accessRules } from './access';
import { SimAuth } from './auth';
import { BoardStore } from './boards';
import { InvocationCache } from './cache';
import type { SimContext } from './context';
import { EventPublisher } from './events';
import { FaultInjector } from './faults';
import { sinkForGeneration } from './generations';
import { ImageStore } from './images';
import { isJsonObject } from './json';
import { LiveSessions } from './liveSessions';
import { Processor } from './processor';
import { getProfile, type ProfileSpec } from './profiles';
import { SessionQueue } from './queue';
import { Router } from './router';
import { appRoutes } from './routes/app';
import { authRoutes } from './routes/auth';
import { boardRoutes } from './routes/boards';
import { imageRoutes } from './routes/images';
import { queueRoutes } from './routes/queue';
import { uploadRoutes } from './routes/upload';
import { videoRoutes } from './routes/videos';
import { workflowRoutes } from './routes/workflows';
import { Listener } from './server';
import { SocketHub } from './sockets';
import { VideoStore } from './videos';
import type { SimulatorOptions } from './types';
import { uiMount } from './ui';
import { WorkflowLibrary, type WorkflowRecord } from './workflows';

/** Every component of one simulator, wired together but not yet listening. */
export interface Parts {
  readonly profile: ProfileSpec;
  readonly base: string;
  readonly multiuser: boolean;
  readonly ctx: SimContext;
  readonly faults: FaultInjector;
  readonly auth: SimAuth;
  readonly hub: SocketHub;
  readonly listener: Listener;
}

function normalizeBase(base: string | undefined): string {
  if (!base || base === '/') return '';
  const b = base.startsWith('/') ? base : `/${base}`;
  return b.endsWith('/') ? b.slice(0, -1) : b;
}

/** `validate_selected_workflow`: in multi-user mode a default, own, public workflow, or an admin's item. */
function callRule(multiuser: boolean, auth: SimAuth): (record: WorkflowRecord, userId: string) => boolean {
  return (record, userId) => {
    if (!multiuser) return true;
    const meta = record.workflow['meta'];
    const isDefault = isJsonObject(meta) && meta['category'] === 'default';
    return isDefault || record.user_id === userId || record.is_public || auth.userStore.get(userId)?.isAdmin === true;
  };
}

function registerRoutes(router: Router, ctx: SimContext, auth: SimAuth, multiuser: boolean): void {
  router.gate = auth;
  router.fallback = uiMount(ctx.profile);
  appRoutes(router, ctx);
  authRoutes(router, ctx, auth);
  accessRules(router, ctx, auth);
  queueRoutes(router, ctx);
  boardRoutes(router, ctx);
  imageRoutes(router, ctx);
  uploadRoutes(router, ctx);
  videoRoutes(router, ctx);
  workflowRoutes(router, ctx, multiuser);
}

/** Builds the stores, the processor, the event path and the routes of a simulator from its options. */
export function assemble(opts: SimulatorOptions): Parts {
  const profile = getProfile(opts.profile ?? 'head');
  const log = opts.logger ?? ((): void => undefined);
  const multiuser = opts.multiuser ?? false;
  if (multiuser && !profile.authStatusEndpoint) throw new Error(`multiuser: profile '${profile.name}' (${profile.version}) predates multi-user mode (6.12)`);
  const images = new ImageStore();
  const videos = new VideoStore();
  const boards = new BoardStore(images, videos);
  const queue = new SessionQueue(profile);
  const cache = new InvocationCache(opts.nodeCacheSize ?? 512);
  const faults = new FaultInjector(log);
  const auth = new SimAuth(multiuser, opts.tokenTtlSec);
  for (const u of opts.users ?? []) auth.userStore.add(u);
  const hub = new SocketHub(profile, faults, log, auth);
  const events = new EventPublisher(sinkForGeneration(hub, profile), queue, profile);
  queue.notifier = events;
  const workflows = new WorkflowLibrary();
  const sessions = new LiveSessions();
  const processor = new Processor(
    { queue, images, videos, boards, cache, faults, events, profile, workflows, sessions, mayCall: callRule(multiuser, auth), log },
    { nodeDelayMs: opts.nodeDelayMs ?? 2, progressSteps: opts.progressSteps ?? 2 },
  );
  const ctx: SimContext = { profile, queue, images, videos, boards, cache, processor, events, workflows, sessions, log };
  const router = new Router();
  registerRoutes(router, ctx, auth, multiuser);
  const base = normalizeBase(opts.base);
  const listener = new Listener(base, router, hub, opts.port ?? 0, log);
  return { profile, base, multiuser, ctx, faults, auth, hub, listener };
}
