import { uuid } from './clock';
import type { EdgeJson, GraphJson, NodeJson } from './graph';
import { record, type Json, type JsonObject } from './json';
import type { ProfileSpec } from './profiles';

/** `max_workflow_call_depth` default of GraphExecutionState (HEAD). */
export const MAX_WORKFLOW_CALL_DEPTH = 4;

/** `WorkflowCallFrame`: one call in a nested chain (graph.py@HEAD). */
export interface WorkflowCallFrame extends JsonObject {
  prepared_call_node_id: string;
  source_call_node_id: string;
  workflow_id: string;
  depth: number;
}

/** `WorkflowCallExecution`: one parent/child relationship and its lifecycle. */
export interface WorkflowCallExecution extends JsonObject {
  id: string;
  parent_session_id: string;
  child_session_id: string | null;
  prepared_call_node_id: string;
  source_call_node_id: string;
  workflow_id: string;
  depth: number;
  status: 'waiting_for_child' | 'running_child' | 'completed' | 'failed';
  error_message: string | null;
  child_session_ids: string[];
  child_item_ids: number[];
  expected_child_count: number;
  completed_child_item_ids: number[];
  aggregated_values: Record<string, Json[]>;
  /** Keyed by child item id (a JSON object key, so a string). */
  child_outputs: Record<string, JsonObject>;
}

/** `WorkflowCallParentRef`: a child session's link back to the call that made it. */
export interface WorkflowCallParentRef extends JsonObject {
  workflow_call_id: string;
  parent_session_id: string;
  prepared_call_node_id: string;
  source_call_node_id: string;
  workflow_id: string;
  depth: number;
}

/** GraphExecutionState (docs/protocol.md §5.2), kept typed while the simulator works on it. */
export interface SessionState {
  id: string;
  graph: GraphJson;
  execution_graph: { id: string; nodes: Record<string, NodeJson>; edges: EdgeJson[] };
  executed: string[];
  executed_history: string[];
  results: Record<string, JsonObject>;
  errors: Record<string, string>;
  /** Saved-workflow calls (6.14+, docs/protocol.md §8.8): the frames of the calls this session runs inside. */
  workflow_call_stack: WorkflowCallFrame[];
  workflow_call_history: WorkflowCallExecution[];
  workflow_call_parent: WorkflowCallParentRef | null;
  waiting_workflow_call: WorkflowCallFrame | null;
  waiting_workflow_call_execution: WorkflowCallExecution | null;
  waiting_workflow_call_child_session: SessionState | null;
  prepared_source_mapping: Record<string, string>;
  source_prepared_mapping: Record<string, string[]>;
  prepared_iteration_paths: Record<string, number[]>;
  ready_order: string[];
  indegree: Record<string, number>;
}

export function newSession(graph: GraphJson): SessionState {
  return {
    id: uuid(),
    graph,
    execution_graph: { id: uuid(), nodes: record(), edges: [] },
    executed: [],
    executed_history: [],
    results: record(),
    errors: record(),
    workflow_call_stack: [],
    workflow_call_history: [],
    workflow_call_parent: null,
    waiting_workflow_call: null,
    waiting_workflow_call_execution: null,
    waiting_workflow_call_child_session: null,
    prepared_source_mapping: record(),
    source_prepared_mapping: record(),
    prepared_iteration_paths: record(),
    ready_order: [],
    indegree: record(),
  };
}

/** Field order of the pydantic model dump; generation-specific fields per profile. */
export function dumpSession(s: SessionState, profile: ProfileSpec): JsonObject {
  const out: JsonObject = {
    id: s.id,
    graph: s.graph,
    execution_graph: s.execution_graph,
    executed: s.executed,
    executed_history: s.executed_history,
    results: s.results,
    errors: s.errors,
  };
  if (profile.workflowCallFields) {
    out['workflow_call_stack'] = s.workflow_call_stack;
    out['workflow_call_history'] = s.workflow_call_history;
    out['workflow_call_parent'] = s.workflow_call_parent;
    out['waiting_workflow_call'] = s.waiting_workflow_call;
    out['waiting_workflow_call_execution'] = s.waiting_workflow_call_execution;
    const child = s.waiting_workflow_call_child_session;
    out['waiting_workflow_call_child_session'] = child ? dumpSession(child, profile) : null;
    out['max_workflow_call_depth'] = MAX_WORKFLOW_CALL_DEPTH;
  }
  out['prepared_source_mapping'] = s.prepared_source_mapping;
  out['source_prepared_mapping'] = s.source_prepared_mapping;
  if (profile.iterationPaths) out['prepared_iteration_paths'] = s.prepared_iteration_paths;
  if (profile.sessionReadyOrder) {
    out['ready_order'] = s.ready_order;
    out['indegree'] = s.indegree;
  }
  return out;
}
