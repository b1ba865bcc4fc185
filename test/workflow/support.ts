import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Graph, GraphEdge } from '../../src/workflow';
import { FIXTURES } from '../support/fixtures';

/*
 * test/fixtures/invokeai: `workflows/` are editor exports, `api-calls/` are `GET /api/v1/queue/default/i/{id}`
 * responses of a 6.3.0 server for editor runs of those same workflows.
 */

export function loadWorkflow(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(FIXTURES, 'workflows', `${name}.json`), 'utf8')) as Record<string, unknown>;
}

export interface CapturedQueueItem {
  session: { graph: Graph };
  workflow: Record<string, unknown>;
}

export function loadCapture(name: string): CapturedQueueItem {
  return JSON.parse(readFileSync(join(FIXTURES, 'api-calls', `call-wf-${name}.json`), 'utf8')) as CapturedQueueItem;
}

/** Edges as a sorted list of strings, to compare them as sets. */
export function edgeSet(edges: readonly GraphEdge[]): string[] {
  return edges
    .map((e) => `${e.source.node_id}.${e.source.field} -> ${e.destination.node_id}.${e.destination.field}`)
    .sort();
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A minimal invocation node of an editor export. An input given as `undefined` has no `value` key. */
export function invocation(
  id: string,
  type: string,
  inputs: Record<string, unknown> = {},
  flags: { isIntermediate?: boolean; useCache?: boolean } = {},
): Record<string, unknown> {
  const fieldInputs: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(inputs)) {
    fieldInputs[name] = value === undefined ? { name, label: '', description: '' } : { name, label: '', description: '', value };
  }
  return {
    id,
    type: 'invocation',
    data: {
      id,
      type,
      version: '1.0.0',
      label: '',
      notes: '',
      isOpen: true,
      nodePack: 'invokeai',
      isIntermediate: flags.isIntermediate ?? true,
      useCache: flags.useCache ?? true,
      inputs: fieldInputs,
    },
    position: { x: 0, y: 0 },
  };
}

export function uiNode(id: string, type: 'notes' | 'connector' | 'current_image'): Record<string, unknown> {
  return { id, type, data: { id, type, label: '', isOpen: true, notes: '' }, position: { x: 0, y: 0 } };
}

export function edge(
  source: string,
  sourceHandle: string,
  target: string,
  targetHandle: string,
  type = 'default',
): Record<string, unknown> {
  return { id: `reactflow__edge-${source}${sourceHandle}-${target}${targetHandle}`, type, source, target, sourceHandle, targetHandle };
}

export function workflow(nodes: unknown[], edges: unknown[] = []): Record<string, unknown> {
  return { name: 'test', meta: { version: '3.0.0', category: 'user' }, exposedFields: [], nodes, edges, form: {} };
}
