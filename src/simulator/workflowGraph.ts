import { getInvocation, SAVED_WORKFLOW_INPUT_PREFIX } from './catalog';
import { parseGraph, type GraphJson, type KnownType } from './graph';
import type { ValidationIssue } from './fields';
import { clone, isJsonObject, record, type Json, type JsonObject } from './json';
import { NodeError } from './nodes';

/*
 * What HEAD does with a saved workflow when `call_saved_workflow` runs it (workflow_graph_builder.py,
 * workflow_call_batch.py): exposed inputs are written into the editor workflow, which is then turned into a graph
 * the way the server (not the editor) does it. Errors carry the server's exception class as their type.
 */

const CONNECTOR_IN = 'in';

/** Nodes whose values the editor expands into batch data; HEAD runs such a called workflow as several children. */
const BATCH_NODE_TYPES: ReadonlySet<string> = new Set(['image_batch', 'string_batch', 'integer_batch', 'float_batch']);

const unsupported = (msg: string): NodeError => new NodeError('UnsupportedWorkflowNodeError', msg);
const invalidInput = (msg: string): NodeError => new NodeError('InvalidWorkflowInputError', msg);

function invocationData(node: Json | undefined): JsonObject | undefined {
  return isJsonObject(node) && node['type'] === 'invocation' && isJsonObject(node['data']) ? node['data'] : undefined;
}

function nodesOf(workflow: JsonObject): Json[] {
  return Array.isArray(workflow['nodes']) ? workflow['nodes'] : [];
}

/** `get_exposed_workflow_input_names`: the form's node fields, else the legacy `exposedFields`. */
function exposedInputs(workflow: JsonObject): Set<string> {
  const out = new Set<string>();
  const form = workflow['form'];
  const elements = isJsonObject(form) && isJsonObject(form['elements']) ? form['elements'] : undefined;
  const root = isJsonObject(form) ? form['rootElementId'] : undefined;
  if (elements && typeof root === 'string') {
    const stack = [root];
    const seen = new Set<string>();
    for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
      if (seen.has(id)) continue;
      seen.add(id);
      const el = elements[id];
      const data = isJsonObject(el) && isJsonObject(el['data']) ? el['data'] : undefined;
      const fi = data && isJsonObject(data['fieldIdentifier']) ? data['fieldIdentifier'] : undefined;
      if (isJsonObject(el) && el['type'] === 'node-field' && fi && typeof fi['nodeId'] === 'string' && typeof fi['fieldName'] === 'string')
        out.add(`${SAVED_WORKFLOW_INPUT_PREFIX}${fi['nodeId']}::${fi['fieldName']}`);
      const children = data?.['children'];
      if (Array.isArray(children)) for (const c of [...children].reverse()) if (typeof c === 'string') stack.push(c);
    }
    if (out.size > 0) return out;
  }
  const fields = workflow['exposedFields'];
  for (const f of Array.isArray(fields) ? fields : [])
    if (isJsonObject(f) && typeof f['nodeId'] === 'string' && typeof f['fieldName'] === 'string')
      out.add(`${SAVED_WORKFLOW_INPUT_PREFIX}${f['nodeId']}::${f['fieldName']}`);
  return out;
}

/** `apply_workflow_inputs_to_workflow`: only exposed fields of existing nodes may be set. */
function applyInputs(workflow: JsonObject, inputs: JsonObject): void {
  const entries = Object.entries(inputs);
  if (entries.length === 0) return;
  const allowed = exposedInputs(workflow);
  for (const [name, value] of entries) {
    if (!allowed.has(name)) throw invalidInput(`call_saved_workflow input '${name}' is not exposed by the selected workflow`);
    const raw = name.slice(SAVED_WORKFLOW_INPUT_PREFIX.length);
    const cut = raw.lastIndexOf('::');
    const nodeId = raw.slice(0, cut);
    const field = raw.slice(cut + 2);
    const data = nodesOf(workflow)
      .map((n) => (isJsonObject(n) && n['id'] === nodeId && isJsonObject(n['data']) && n['data']['id'] === nodeId ? n['data'] : undefined))
      .find((d) => d !== undefined);
    const type = data?.['type'];
    if (!data || typeof type !== 'string') throw invalidInput(`call_saved_workflow input '${name}' targets missing child workflow node '${nodeId}'`);
    if (!getInvocation(type)?.f.some((f) => f.n === field)) throw invalidInput(`call_saved_workflow input '${name}' targets missing child workflow field '${field}'`);
    const nodeInputs = (data['inputs'] ??= record<Json>());
    if (!isJsonObject(nodeInputs)) throw invalidInput(`call_saved_workflow input '${name}' targets invalid child workflow inputs on '${nodeId}'`);
    nodeInputs[field] = { value: clone(value) };
  }
}

/** Follows connectors (reroutes) upstream to the invocation output feeding them. */
function connectorSource(id: string, byId: Map<string, JsonObject>, edges: JsonObject[]): { node_id: string; field: string } | undefined {
  const seen = new Set<string>();
  for (let cur = id; !seen.has(cur); ) {
    seen.add(cur);
    const e = edges.find((x) => x['target'] === cur && x['targetHandle'] === CONNECTOR_IN);
    const src = e?.['source'];
    const handle = e?.['sourceHandle'];
    if (typeof src !== 'string' || typeof handle !== 'string') return undefined;
    const node = byId.get(src);
    if (invocationData(node)) return { node_id: src, field: handle };
    if (node?.['type'] !== 'connector') return undefined;
    cur = src;
  }
  return undefined;
}

function validationError(issues: ValidationIssue[]): NodeError {
  const lines = issues.map((i) => `${i.loc.join('.')}\n  ${i.msg}`);
  return new NodeError('ValidationError', `${issues.length} validation error${issues.length === 1 ? '' : 's'} for Graph\n${lines.join('\n')}`);
}

/**
 * The graph a called workflow runs as (`build_graph_from_workflow` after the inputs are applied). Throws NodeError.
 * A workflow with batch nodes would run as several child items at HEAD; the simulator refuses it.
 */
export function buildChildGraph(savedWorkflow: JsonObject, inputs: JsonObject, known: KnownType): GraphJson {
  const workflow = clone(savedWorkflow);
  const nodes = nodesOf(workflow);
  if (nodes.some((n) => { const t = invocationData(n)?.['type']; return typeof t === 'string' && BATCH_NODE_TYPES.has(t); }))
    throw unsupported('the simulator does not run called workflows with batch nodes (HEAD makes one child item per batch entry)');
  applyInputs(workflow, inputs);
  if (nodes.filter((n) => invocationData(n)?.['type'] === 'workflow_return').length !== 1)
    throw unsupported('call_saved_workflow requires the selected workflow to contain exactly one workflow_return node');

  const byId = new Map<string, JsonObject>();
  for (const n of nodes) if (isJsonObject(n) && typeof n['id'] === 'string') byId.set(n['id'], n);
  const graphNodes = record<Json>();
  for (const node of byId.values()) {
    const data = invocationData(node);
    const id = data?.['id'];
    const type = data?.['type'];
    if (!data || typeof id !== 'string' || typeof type !== 'string') continue;
    const g = record<Json>();
    Object.assign(g, { id, type, use_cache: data['useCache'] ?? false, is_intermediate: data['isIntermediate'] ?? false });
    const fieldInputs = isJsonObject(data['inputs']) ? data['inputs'] : {};
    for (const [name, input] of Object.entries(fieldInputs)) {
      if (!isJsonObject(input) || !('value' in input)) continue;
      const value = input['value'] ?? null;
      // The editor's board picker stores "auto" / "none"; both mean the field's default, no board.
      if (name === 'board' && (value === 'auto' || value === 'none')) continue;
      g[name] = clone(value);
    }
    graphNodes[id] = g;
  }
  const rawEdges = Array.isArray(workflow['edges']) ? workflow['edges'] : [];
  const edges = rawEdges.filter((e): e is JsonObject => isJsonObject(e) && e['type'] === 'default');
  const graphEdges: JsonObject[] = [];
  const seen = new Set<string>();
  for (const e of edges) {
    const [src, dst, sh, th] = [e['source'], e['target'], e['sourceHandle'], e['targetHandle']];
    if (typeof src !== 'string' || typeof dst !== 'string' || typeof sh !== 'string' || typeof th !== 'string') continue;
    if (!invocationData(byId.get(dst))) continue;
    const srcNode = byId.get(src);
    const from = invocationData(srcNode) ? { node_id: src, field: sh } : srcNode?.['type'] === 'connector' ? connectorSource(src, byId, edges) : undefined;
    if (!from) continue;
    const key = JSON.stringify([from.node_id, from.field, dst, th]);
    if (seen.has(key)) continue;
    seen.add(key);
    graphEdges.push({ source: from, destination: { node_id: dst, field: th } });
  }
  for (const e of graphEdges) {
    const d = e['destination'] as { node_id: string; field: string };
    const target = graphNodes[d.node_id];
    if (isJsonObject(target)) delete target[d.field];
  }
  const issues: ValidationIssue[] = [];
  const graph = parseGraph({ nodes: graphNodes, edges: graphEdges }, [], issues, known);
  if (!graph) throw validationError(issues);
  return graph;
}

/** `get_workflow_call_compatibility`, judged without placeholder inputs. */
export function compatibility(workflow: JsonObject): JsonObject {
  const returns = nodesOf(workflow).filter((n) => invocationData(n)?.['type'] === 'workflow_return').length;
  if (returns === 0) return { is_callable: false, reason: 'missing_workflow_return', message: 'The workflow must contain exactly one workflow_return node.' };
  if (returns > 1) return { is_callable: false, reason: 'multiple_workflow_return', message: 'The workflow must not contain more than one workflow_return node.' };
  try {
    buildChildGraph(workflow, {}, () => true);
  } catch (err) {
    const e = err instanceof NodeError ? err : new NodeError('Exception', String(err));
    const reason =
      e.errorType === 'InvalidWorkflowInputError'
        ? 'invalid_inputs'
        : e.errorType === 'UnsupportedWorkflowNodeError'
          ? /batch/.test(e.message)
            ? 'unsupported_batch_input'
            : 'unsupported_node'
          : 'invalid_graph';
    return { is_callable: false, reason, message: e.message };
  }
  return { is_callable: true, reason: 'ok', message: null };
}
