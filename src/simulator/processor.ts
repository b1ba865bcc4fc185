import type { BoardStore } from './boards';
import { InvocationCache } from './cache';
import { getInvocation } from './catalog';
import { encodePng } from './encode';
import type { EventPublisher } from './events';
import { Execution, type PreparedNode } from './execution';
import type { FaultInjector } from './faults';
import { storedOutput } from './generations';
import type { ImageStore } from './images';
import type { LiveSessions } from './liveSessions';
import type { VideoStore } from './videos';
import { cloneData, type JsonObject } from './json';
import { isDenoiseLike, NodeError, runNode, type NodeEnv, type Size } from './nodes';
import type { ProfileSpec } from './profiles';
import { isTerminal, type QueueItem, type SessionQueue } from './queue';
import type { SessionState } from './session';
import { isCallNode, runReturnNode, WorkflowCalls } from './workflowCalls';
import type { WorkflowLibrary, WorkflowRecord } from './workflows';

export interface ProcessorOptions {
  nodeDelayMs: number;
  progressSteps: number;
}

export interface ProcessorDeps {
  queue: SessionQueue;
  images: ImageStore;
  videos: VideoStore;
  boards: BoardStore;
  cache: InvocationCache;
  faults: FaultInjector;
  events: EventPublisher;
  profile: ProfileSpec;
  workflows: WorkflowLibrary;
  /** Where 3.x keeps the sessions it runs (`GET /sessions/{id}`). */
  sessions: LiveSessions;
  /** Whether an item's owner may run a saved workflow (multi-user rules of `validate_selected_workflow`). */
  mayCall: (record: WorkflowRecord, userId: string) => boolean;
  log: (msg: string) => void;
}

/** `suspended`: a `call_saved_workflow` node put the item in `waiting` for its child. */
type RunEnd = 'done' | 'canceled' | 'aborted' | 'failed' | 'suspended';

/**
 * The session processor: one item at a time, highest priority then oldest. Per node:
 * `invocation_started` → progress (denoise-like) → run → `invocation_complete`; the session is written to
 * the item before its terminal status (docs/protocol.md §2.2).
 */
export class Processor {
  private paused = false;
  private online = false;
  private busy = false;
  private scheduled: NodeJS.Immediate | undefined;
  private abort = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly tensorSizes = new Map<string, Size>();
  private idleWaiters: (() => void)[] = [];
  private readonly calls: WorkflowCalls;

  constructor(
    private readonly deps: ProcessorDeps,
    private readonly opts: ProcessorOptions,
  ) {
    this.calls = new WorkflowCalls({
      queue: deps.queue,
      events: deps.events,
      profile: deps.profile,
      workflows: deps.workflows,
      mayCall: deps.mayCall,
      save: (item, session) => this.save(item, cloneData(session)),
      fail: (item, exec, node, err, traceback) => this.fail(item, exec, node, err, traceback),
    });
  }

  get isProcessing(): boolean {
    return this.busy;
  }

  get isStarted(): boolean {
    return this.online && !this.paused;
  }

  /** Server up: start taking items. */
  start(): void {
    this.online = true;
    this.abort = new AbortController();
    this.kick();
  }

  /** Server down (crash-like): the running item stops where it is; nothing more is written or emitted. */
  async stop(): Promise<void> {
    this.online = false;
    this.abort.abort();
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.busy) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.kick();
  }

  /** Look for work soon (after enqueue, resume, or the end of a run). */
  kick(): void {
    if (this.scheduled || this.busy || !this.online || this.paused) return;
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined;
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.busy || !this.online || this.paused) return;
    const item = this.deps.queue.next();
    if (!item) return;
    this.busy = true;
    try {
      await this.run(item, this.abort.signal);
    } catch (err) {
      this.deps.log(`processor error on item ${item.item_id}: ${String(err)}`);
    } finally {
      this.busy = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
    this.kick();
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = (): void => {
        clearTimeout(t);
        this.timers.delete(t);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.timers.add(t);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private async run(item: QueueItem, signal: AbortSignal): Promise<void> {
    const { queue } = this.deps;
    queue.transition(item, 'in_progress');
    // A parent resumed after its called workflow goes on where it stopped.
    const exec = this.calls.take(item.item_id) ?? new Execution(cloneData(item.session));
    if (this.deps.profile.sessionsRoute) this.deps.sessions.set(exec.session);
    const env: NodeEnv = {
      sessionId: item.session_id,
      images: this.deps.images,
      videos: this.deps.videos,
      boardExists: (id) => this.deps.boards.has(id),
      tensorSizes: this.tensorSizes,
      log: this.deps.log,
    };
    let end: RunEnd = 'done';
    for (let node = exec.next(); node; node = exec.next()) {
      end = await this.runOne(item, exec, node, env, signal);
      // A cancel is noticed before the next node is prepared (`run`, session_processor_default.py@v5.15.0): nothing
      // more enters the execution graph.
      if (end === 'done' && isTerminal(item.status)) end = 'canceled';
      if (end !== 'done') break;
    }
    if (end === 'aborted' || end === 'suspended') return;
    if (end !== 'failed') this.finish(item, exec);
    this.calls.afterRun(item);
  }

  /** `save_queue_item_session`; generations before 4.2.4 never store results in the item (docs/protocol.md §7). */
  private save(item: QueueItem, session: SessionState): void {
    item.live = session;
    if (this.deps.profile.sessionResults) item.session = session;
  }

  private async runOne(item: QueueItem, exec: Execution, node: PreparedNode, env: NodeEnv, signal: AbortSignal): Promise<RunEnd> {
    const { events, faults, cache } = this.deps;
    if (signal.aborted) return 'aborted';
    if (isTerminal(item.status)) return 'canceled';
    const inv = node.invocation;
    events.invocationStarted(item, inv, node.sourceId);
    if (isCallNode(inv)) return this.call(item, exec, node);
    const spec = getInvocation(inv.type);
    const useCache = cache.enabled && inv['use_cache'] === true && inv.type !== 'iterate' && inv.type !== 'collect';
    const cacheKey = useCache ? InvocationCache.key(inv) : '';
    const failure = faults.nodeFailure(inv.type, node.sourceId);
    const cached = useCache && !failure ? cache.get(cacheKey) : undefined;

    if (!cached && isDenoiseLike(inv.type) && this.opts.progressSteps > 0) {
      const steps = this.opts.progressSteps;
      for (let step = 1; step <= steps; step++) {
        await this.sleep(this.opts.nodeDelayMs / steps, signal);
        if (signal.aborted) return 'aborted';
        // Denoise nodes stop at their next step when canceled, emitting neither complete nor error.
        if (isTerminal(item.status)) return 'canceled';
        events.invocationProgress(item, inv, node.sourceId, `Step ${step}/${steps}`, step / steps, { width: 8, height: 8, dataURL: PREVIEW });
      }
    } else await this.sleep(cached ? 0 : this.opts.nodeDelayMs, signal);
    if (signal.aborted) return 'aborted';

    let output: JsonObject;
    try {
      if (failure) throw new NodeError(failure.errorType, failure.errorMessage);
      if (cached) output = cached;
      else if (inv.type === 'iterate') {
        const collection = node.collection ?? [];
        output = { item: collection[node.index ?? 0] ?? null, index: node.index ?? 0, total: collection.length, type: 'iterate_output' };
      } else if (inv.type === 'collect') output = { collection: node.collection ?? [], type: 'collect_output' };
      else if (!spec) throw new NodeError('KeyError', `Unknown invocation type ${inv.type}`);
      else output = runReturnNode(inv) ?? runNode(inv, spec, env).output;
    } catch (err) {
      const e = err instanceof NodeError ? err : new NodeError('RuntimeError', String(err));
      this.fail(item, exec, node, e);
      return 'failed';
    }
    if (useCache && !cached) cache.put(cacheKey, output);
    if (isTerminal(item.status) && this.deps.profile.cancelDropsLateOutput) return 'canceled';
    const stored = storedOutput(output, this.deps.profile);
    exec.complete(node, stored);
    events.invocationComplete(item, inv, node.sourceId, stored);
    return 'done';
  }

  /**
   * `call_saved_workflow` is not invoked like other nodes: it validates its workflow, enqueues the child and suspends
   * the item (no cache, no progress, no `invocation_complete` until the child is done).
   */
  private call(item: QueueItem, exec: Execution, node: PreparedNode): RunEnd {
    try {
      const failure = this.deps.faults.nodeFailure(node.invocation.type, node.sourceId);
      if (failure) throw new NodeError(failure.errorType, failure.errorMessage);
      this.calls.begin(item, exec, node);
      return 'suspended';
    } catch (err) {
      this.fail(item, exec, node, err instanceof NodeError ? err : new NodeError('RuntimeError', String(err)));
      return 'failed';
    }
  }

  /** `_on_node_error`: errors into the session, session saved, `failed` status, then `invocation_error` (§2.1). */
  private fail(item: QueueItem, exec: Execution, node: PreparedNode, e: NodeError, tb?: string): void {
    const { queue, events } = this.deps;
    exec.error(node, e.errorType, e.message);
    const traceback =
      tb ??
      [
        'Traceback (most recent call last):',
        '  File "/opt/invokeai/invokeai/app/services/session_processor/session_processor_default.py", line 129, in run_node',
        '    output = invocation.invoke_internal(context=context, services=self._services)',
        `${e.errorType}: ${e.message}`,
        '',
      ].join('\n');
    this.save(item, exec.session);
    const error = { errorType: e.errorType, errorMessage: e.message, errorTraceback: traceback };
    if (this.deps.profile.queueFollowsSessionEvents) {
      // ≤4.2.3: the error event comes first and its handler fails the item, after the session's end was announced.
      events.invocationError(item, node.invocation, node.sourceId, e.errorType, e.message, traceback);
      events.sessionEvent('graph_execution_state_complete', item);
      queue.transition(item, 'failed', error);
      return;
    }
    queue.transition(item, 'failed', error);
    events.invocationError(item, node.invocation, node.sourceId, e.errorType, e.message, traceback);
  }

  /** The end of a run that did not fail: the session written back, then `completed` unless it was canceled. */
  private finish(item: QueueItem, exec: Execution): void {
    const { queue, events, profile } = this.deps;
    // Also written when the run ends by cancel: partial results stay visible (docs/protocol.md §8.5).
    this.save(item, exec.session);
    const canceled = isTerminal(item.status);
    // ≤4.2.3 the queue completes the item when `graph_execution_state_complete` arrives (session_queue_sqlite.py@v4.2.3).
    if (profile.queueFollowsSessionEvents && (!canceled || profile.completeEventOnCancel)) events.sessionEvent('graph_execution_state_complete', item);
    if (!canceled) queue.transition(item, 'completed');
  }
}

const PREVIEW = `data:image/png;base64,${encodePng(8, 8, { r: 128, g: 128, b: 128, a: 255 }).toString('base64')}`;
