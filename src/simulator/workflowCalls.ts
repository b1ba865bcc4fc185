import { CALL_SAVED_WORKFLOW, nodeTypeKnown, SAVED_WORKFLOW_INPUT_PREFIX } from './catalog';
import { uuid } from './clock';
import type { EventPublisher } from './events';
import type { Execution, PreparedNode } from './execution';
import type { NodeJson } from './graph';
import { clone, cloneData, isJsonObject, record, type Json, type JsonObject } from './json';
import { NodeError } from './nodes';
import { storedOutput } from './generations';
import type { ProfileSpec } from './profiles';
import { isTerminal, MAX_QUEUE_SIZE, type QueueItem, type SessionQueue } from './queue';
import { MAX_WORKFLOW_CALL_DEPTH, newSession, type SessionState, type WorkflowCallExecution, type WorkflowCallFrame } from './session';
import { buildChildGraph } from './workflowGraph';
import type { WorkflowLibrary, WorkflowRecord } from './workflows';

/*
 * Saved-workflow calls as HEAD runs them (docs/protocol.md §8.8; workflow_call_runtime.py, session_processor_default.py,
 * session_queue_sqlite.py): the call node suspends its item (`waiting`), a child item runs the saved workflow, and the
 * child's end resumes, fails or cancels the parent.
 */

export const isCallNode = (inv: NodeJson): boolean => inv.type === CALL_SAVED_WORKFLOW;

const valueError = (msg: string): NodeError => new NodeError('ValueError', msg);

function returnKey(v: Json | undefined): string {
  const key = isJsonObject(v) && typeof v['key'] === 'string' ? v['key'].trim() : '';
  if (!key) throw valueError('Workflow return key must not be empty.');
  return key;
}

/** `workflow_return`, `workflow_return_value`, `workflow_return_get` (workflow_return.py); undefined for other types. */
export function runReturnNode(inv: NodeJson): JsonObject | undefined {
  switch (inv.type) {
    case 'workflow_return_value':
      return { value: { key: returnKey(inv), value: clone(inv['value'] ?? null) }, type: 'workflow_return_value_output' };
    case 'workflow_return': {
      const raw = inv['values'] ?? [];
      const values = record<Json>();
      for (const v of Array.isArray(raw) ? raw : [raw]) {
        const key = returnKey(v);
        if (Object.hasOwn(values, key)) throw valueError(`Duplicate workflow return key '${key}'.`);
        values[key] = clone((isJsonObject(v) ? v['value'] : null) ?? null);
      }
      return { values, type: 'workflow_return_output' };
    }
    case 'workflow_return_get': {
      const key = returnKey(inv);
      const values = inv['values'];
      if (!isJsonObject(values) || !Object.hasOwn(values, key)) throw valueError(`Workflow return key '${key}' was not found.`);
      return { value: clone(values[key] ?? null), type: 'workflow_return_get_output' };
    }
    default:
      return undefined;
  }
}

export interface WorkflowCallDeps {
  queue: SessionQueue;
  events: EventPublisher;
  profile: ProfileSpec;
  workflows: WorkflowLibrary;
  /** `validate_selected_workflow`: may this user's item run the saved workflow (multi-user rules)? */
  mayCall: (record: WorkflowRecord, userId: string) => boolean;
  /** Writes a session to its item as the server's `save_queue_item_session` does. */
  save: (item: QueueItem, session: SessionState) => void;
  /** The processor's `_on_node_error` for the call node of a parent whose child failed. */
  fail: (item: QueueItem, exec: Execution, node: PreparedNode, err: NodeError, traceback: string) => void;
}

interface Suspended {
  exec: Execution;
  node: PreparedNode;
}

export class WorkflowCalls {
  /** Sessions suspended on a call (or resumed and not yet picked up again), by item id. */
  private readonly suspended = new Map<number, Suspended>();

  constructor(private readonly deps: WorkflowCallDeps) {}

  /**
   * `begin_workflow_call_boundary`: the child item is enqueued (`pending` event) and the parent suspended (`waiting`
   * event), in that order. Throws NodeError when the call cannot start; the caller fails the node.
   */
  begin(item: QueueItem, exec: Execution, node: PreparedNode): void {
    const { queue, workflows, profile } = this.deps;
    const inv = node.invocation;
    const workflowId = typeof inv['workflow_id'] === 'string' ? inv['workflow_id'] : '';
    if (!workflowId) throw valueError('A saved workflow must be selected before executing call_saved_workflow.');
    const record = workflows.get(workflowId);
    if (!record) throw valueError(`The selected saved workflow '${workflowId}' could not be found.`);
    if (!this.deps.mayCall(record, item.user_id)) throw valueError(`The selected saved workflow '${workflowId}' is not accessible to this user.`);
    const pending = queue.inQueue(item.queue_id).filter((i) => i.status === 'pending').length;
    if (MAX_QUEUE_SIZE - pending <= 0) throw valueError('call_saved_workflow exceeds remaining queue capacity for child workflow executions');
    const s = exec.session;
    const depth = s.workflow_call_stack.length + 1;
    if (depth > MAX_WORKFLOW_CALL_DEPTH) throw valueError(`Maximum workflow call depth exceeded (${MAX_WORKFLOW_CALL_DEPTH}) for workflow '${workflowId}'`);
    const frame: WorkflowCallFrame = { prepared_call_node_id: node.id, source_call_node_id: node.sourceId, workflow_id: workflowId, depth };
    const graph = buildChildGraph(record.workflow, this.inputsOf(node, s), (t) => nodeTypeKnown(t, profile));

    const child = newSession(graph);
    child.workflow_call_stack = [...s.workflow_call_stack, frame];
    const call: WorkflowCallExecution = {
      id: uuid(),
      parent_session_id: s.id,
      child_session_id: child.id,
      ...frame,
      status: 'running_child',
      error_message: null,
      child_session_ids: [child.id],
      child_item_ids: [],
      expected_child_count: 1,
      completed_child_item_ids: [],
      aggregated_values: {},
      child_outputs: {},
    };
    child.workflow_call_parent = { workflow_call_id: call.id, parent_session_id: s.id, ...frame };
    s.waiting_workflow_call = frame;
    s.waiting_workflow_call_execution = call;
    s.waiting_workflow_call_child_session = cloneData(child);
    this.deps.save(item, s);
    const childItem = queue.enqueueChild(item, child, call.id, depth);
    call.child_item_ids = [childItem.item_id];
    this.deps.save(item, s);
    this.suspended.set(item.item_id, { exec, node });
    queue.transition(item, 'waiting');
  }

  /** `_collect_call_saved_workflow_inputs`: literal inputs, overridden by values arriving on edges. */
  private inputsOf(node: PreparedNode, s: SessionState): JsonObject {
    const literal = node.invocation['workflow_inputs'];
    const inputs: JsonObject = isJsonObject(literal) ? clone(literal) : record<Json>();
    for (const e of s.execution_graph.edges) {
      if (e.destination.node_id !== node.id || !e.destination.field.startsWith(SAVED_WORKFLOW_INPUT_PREFIX)) continue;
      const result = s.results[e.source.node_id];
      if (result) inputs[e.destination.field] = clone(result[e.source.field] ?? null);
    }
    return inputs;
  }

  /** The session to go on with when a resumed parent is dequeued again. */
  take(itemId: number): Execution | undefined {
    this.prune();
    const s = this.suspended.get(itemId);
    this.suspended.delete(itemId);
    return s?.exec;
  }

  /** `run_queue_item`: after any run of a child item, its end moves its parent. */
  afterRun(child: QueueItem): void {
    if (child.parent_item_id === null) return;
    const parent = this.deps.queue.get(child.parent_item_id);
    // The parent may be gone (deleted, cleared) while its child ran.
    if (!parent) return;
    if (child.status === 'completed') this.resumeParent(child, parent);
    else if (child.status === 'failed') this.failParent(child, parent);
    else if (child.status === 'canceled' && parent.status !== 'canceled') this.deps.queue.cancel(parent);
  }

  /** `_resume_parent_from_completed_child`. */
  private resumeParent(child: QueueItem, parent: QueueItem): void {
    const waiting = this.suspended.get(parent.item_id);
    if (isTerminal(parent.status) || !waiting) return;
    const { exec, node } = waiting;
    const s = exec.session;
    let values: JsonObject;
    try {
      values = returnValues(child.live ?? child.session);
    } catch (err) {
      this.failWaiting(parent, waiting, err instanceof NodeError ? err.message : String(err));
      this.propagateFailure(parent);
      return;
    }
    const call = s.waiting_workflow_call_execution;
    if (call) {
      call.completed_child_item_ids.push(child.item_id);
      call.child_outputs[String(child.item_id)] = clone(values);
      const aggregated = record<Json[]>();
      for (const [k, v] of Object.entries(values)) aggregated[k] = [clone(v)];
      call.aggregated_values = aggregated;
    }
    endWaiting(s, 'completed', null);
    const output = storedOutput({ values, type: 'workflow_return_output' }, this.deps.profile);
    exec.complete(node, output);
    this.deps.events.invocationComplete(parent, node.invocation, node.sourceId, output);
    this.deps.save(parent, s);
    if (exec.exhausted) {
      // The call was the parent's last node: it completes without running again.
      this.suspended.delete(parent.item_id);
      this.deps.queue.transition(parent, 'completed');
      this.afterRun(parent);
      return;
    }
    this.deps.queue.transition(parent, 'pending');
  }

  /** `_fail_parent_from_failed_child`, up the chain. */
  private failParent(child: QueueItem, parent: QueueItem): void {
    const waiting = this.suspended.get(parent.item_id);
    if (isTerminal(parent.status) || !waiting) return;
    const frame = waiting.exec.session.waiting_workflow_call;
    const msg = child.error_message ?? `The selected saved workflow '${frame?.workflow_id ?? ''}' failed during child execution.`;
    this.failWaiting(parent, waiting, msg);
    this.propagateFailure(parent);
  }

  private propagateFailure(item: QueueItem): void {
    if (item.parent_item_id === null) return;
    const up = this.deps.queue.get(item.parent_item_id);
    if (up) this.failParent(item, up);
  }

  /** `fail_waiting_workflow_call`: the call node errs with a ValueError whose traceback is its message. */
  private failWaiting(parent: QueueItem, waiting: Suspended, msg: string): void {
    this.suspended.delete(parent.item_id);
    endWaiting(waiting.exec.session, 'failed', msg);
    this.deps.fail(parent, waiting.exec, waiting.node, valueError(msg), msg);
  }

  /** Sessions of items that ended meanwhile (chain canceled, deleted, server restart) are dropped. */
  private prune(): void {
    for (const id of this.suspended.keys()) {
      const item = this.deps.queue.get(id);
      if (!item || isTerminal(item.status)) this.suspended.delete(id);
    }
  }
}

/** `end_waiting_on_workflow_call`: the call goes to the history, the waiting fields are cleared. */
function endWaiting(s: SessionState, status: 'completed' | 'failed', errorMessage: string | null): void {
  const call = s.waiting_workflow_call_execution;
  if (call) s.workflow_call_history.push(clone({ ...call, status, error_message: errorMessage }));
  s.waiting_workflow_call = null;
  s.waiting_workflow_call_execution = null;
  s.waiting_workflow_call_child_session = null;
}

/** `get_child_workflow_return_output`: the values of the child's one `workflow_return` execution. */
function returnValues(child: SessionState): JsonObject {
  const ids = Object.values(child.graph.nodes)
    .filter((n) => n.type === 'workflow_return')
    .map((n) => n.id);
  if (ids.length === 0) throw valueError('The selected saved workflow must contain exactly one workflow_return node.');
  if (ids.length > 1) throw valueError('The selected saved workflow must not contain more than one workflow_return node.');
  const prepared = child.source_prepared_mapping[ids[0] ?? ''] ?? [];
  if (prepared.length !== 1) throw valueError('The selected saved workflow produced an unsupported number of workflow_return executions.');
  const out = child.results[prepared[0] ?? ''];
  const values = out?.['values'];
  if (out?.['type'] !== 'workflow_return_output' || !isJsonObject(values)) throw valueError('The selected saved workflow did not produce a valid workflow_return output.');
  return clone(values);
}
