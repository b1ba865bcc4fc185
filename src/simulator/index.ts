/**
 * An embedded InvokeAI server simulator: the real HTTP + socket.io protocol of InvokeAI (default: the newest
 * generation, 6.14), executing submitted graphs with simulated nodes, real PNG bytes, boards and queue items.
 * Start it in tests with {@link startSimulator}; everything binds to 127.0.0.1.
 */
import { assemble, type Parts } from './assemble';
import { clone, type JsonObject } from './json';
import { storeView } from './store';
import type { SaveWorkflowOptions, SeedImageOptions, SeedVideoOptions, Simulator, SimulatorOptions } from './types';
import { UserStore } from './users';
import { WorkflowLibrary, type WorkflowRecordDTO } from './workflows';

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
export type { SaveWorkflowOptions, SeedImageOptions, SeedVideoOptions, Simulator, SimulatorOptions, SimulatorStore } from './types';
export type { VideoDTO } from './videos';

/** `Simulator.seedImages`: pre-existing images, no bytes until one is requested. */
function seedImages({ ctx }: Parts, boardId: string, count: number, o: SeedImageOptions): string[] {
  const board = boardId === 'none' ? null : boardId;
  if (board !== null && !ctx.boards.has(board)) throw new Error(`seedImages: board ${boardId} does not exist`);
  const names: string[] = [];
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    const name = o.names?.[i];
    const r = ctx.images.add(
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
}

/** `Simulator.seedVideos`: video records as a run or an upload would have left them. */
function seedVideos({ ctx }: Parts, boardId: string, count: number, o: SeedVideoOptions): string[] {
  if (!ctx.profile.nodes614) throw new Error(`seedVideos: profile '${ctx.profile.name}' predates videos (6.14)`);
  const board = boardId === 'none' ? null : boardId;
  if (board !== null && !ctx.boards.has(board)) throw new Error(`seedVideos: board ${boardId} does not exist`);
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => {
    const name = o.names?.[i];
    const v = { width: o.width ?? 832, height: o.height ?? 480, frames: o.frames ?? 81, fps: o.fps ?? 16 };
    return ctx.videos.add({ ...(name === undefined ? {} : { name }), ...v, isIntermediate: false, sessionId: o.sessionId ?? null, nodeId: null, boardId: board, metadata: null }, now).name;
  });
}

/** `Simulator.saveWorkflow`: as `POST /workflows/` would save it, owned by the default admin in multi-user mode. */
function saveWorkflow({ ctx, auth, multiuser }: Parts, workflow: Readonly<Record<string, unknown>>, o: SaveWorkflowOptions): WorkflowRecordDTO {
  const owner = o.userId ?? (multiuser ? (auth.userStore.list().find((u) => u.isAdmin)?.userId ?? 'system') : 'system');
  const { record, issues } = ctx.workflows.create(clone(workflow as JsonObject), owner, o.isPublic ?? !multiuser, ['workflow']);
  if (!record) throw new Error(`saveWorkflow: invalid workflow: ${issues.map((i) => `${i.loc.join('.')}: ${i.msg}`).join('; ')}`);
  return WorkflowLibrary.toDTO(record);
}

/** Going down, coming back up (a real start's recovery), and closing for good. */
function lifecycle({ ctx, faults, listener }: Parts): Pick<Simulator, 'stopListener' | 'startListener' | 'close'> {
  const { processor, queue, cache } = ctx;
  let closed = false;
  const down = async (): Promise<void> => {
    await processor.stop();
    faults.cancelTimers();
    await listener.stop();
  };
  return {
    stopListener: down,
    startListener: async () => {
      if (closed) throw new Error('simulator is closed');
      if (listener.listening) return;
      queue.startupRecovery();
      ctx.sessions.clear();
      await listener.start();
      processor.start();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await down();
      cache.clear();
    },
  };
}

/** Starts a simulator on 127.0.0.1 and resolves once it accepts connections. */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const parts = assemble(opts);
  const { ctx, listener, auth, hub, multiuser, base } = parts;
  await listener.start();
  ctx.processor.start();
  return {
    get url() {
      return `http://127.0.0.1:${listener.port}${base}`;
    },
    get port() {
      return listener.port;
    },
    profile: parts.profile,
    faults: parts.faults,
    store: storeView(ctx),
    createBoard: (name) => ctx.boards.toDTO(ctx.boards.create(name)),
    saveWorkflow: (workflow, o = {}) => saveWorkflow(parts, workflow, o),
    seedImages: (boardId, count, o = {}) => seedImages(parts, boardId, count, o),
    seedVideos: (boardId, count, o = {}) => seedVideos(parts, boardId, count, o),
    pauseProcessor: () => ctx.processor.pause(),
    resumeProcessor: () => ctx.processor.resume(),
    disconnectSockets: () => hub.disconnectAll(),
    auth,
    addUser: (spec) => {
      if (!multiuser) throw new Error('addUser: the simulator is in single-user mode');
      return UserStore.toSimUser(auth.userStore.add(spec));
    },
    revokeTokens: (userId) => auth.revoke(userId),
    expireTokens: () => auth.expireAll(),
    ...lifecycle(parts),
  };
}
