import { uuid } from './clock';
import type { EdgeJson, GraphJson, NodeJson } from './graph';
import type { JsonObject } from './json';
import type { ProfileSpec } from './profiles';

/** GraphExecutionState (PROTOCOL §5.2), kept typed while the simulator works on it. */
export interface SessionState {
  id: string;
  graph: GraphJson;
  execution_graph: { id: string; nodes: Record<string, NodeJson>; edges: EdgeJson[] };
  executed: string[];
  executed_history: string[];
  results: Record<string, JsonObject>;
  errors: Record<string, string>;
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
    execution_graph: { id: uuid(), nodes: {}, edges: [] },
    executed: [],
    executed_history: [],
    results: {},
    errors: {},
    prepared_source_mapping: {},
    source_prepared_mapping: {},
    prepared_iteration_paths: {},
    ready_order: [],
    indegree: {},
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
    out['workflow_call_stack'] = [];
    out['workflow_call_history'] = [];
    out['workflow_call_parent'] = null;
    out['waiting_workflow_call'] = null;
    out['waiting_workflow_call_execution'] = null;
    out['waiting_workflow_call_child_session'] = null;
    out['max_workflow_call_depth'] = 4;
  }
  out['prepared_source_mapping'] = s.prepared_source_mapping;
  out['source_prepared_mapping'] = s.source_prepared_mapping;
  if (profile.iterationPaths) out['prepared_iteration_paths'] = s.prepared_iteration_paths;
  out['ready_order'] = s.ready_order;
  out['indegree'] = s.indegree;
  return out;
}
