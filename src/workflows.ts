import type { Dispatcher } from 'undici';
import { OutputsError } from './errors';
import { HttpError } from './invoke/http';
import { noopLogger, type Logger } from './log';
import { ServerConnection } from './invoke/connection';

/** One saved workflow of a server's library, as `invokeai-outputs workflows` prints it (CONTRACT.md). */
export interface WorkflowListRecord {
  type: 'workflow';
  workflow_id: string;
  name: string;
  /** `user` or `default` (InvokeAI's bundled workflows). */
  category: string;
  /** The server's timestamp, as it gives it. */
  updated_at: string;
}

export interface ListWorkflowsOptions {
  url: string;
  token?: string | null;
  username?: string | null;
  password?: string | null;
  /** Workflows asked for per request; the library is read page by page until the last. @default 100 */
  pageSize?: number;
  logger?: Logger;
  dispatcher?: Dispatcher;
}

/**
 * The server's workflow library (`GET /api/v1/workflows/`, every page), in the server's order (by name): what the
 * caller may see of it (on a multi-user server, their own workflows and the bundled ones).
 */
export async function listWorkflows(opts: ListWorkflowsOptions): Promise<WorkflowListRecord[]> {
  const pageSize = opts.pageSize ?? 100;
  if (!(Number.isInteger(pageSize) && pageSize >= 1)) throw new OutputsError('BAD_USAGE', `pageSize: must be a whole number of at least 1, got ${pageSize}`);
  const server = new ServerConnection({
    url: opts.url,
    token: opts.token ?? null,
    username: opts.username ?? null,
    password: opts.password ?? null,
    log: opts.logger ?? noopLogger,
    ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
  });
  try {
    await server.reach();
    const out: WorkflowListRecord[] = [];
    const seen = new Set<string>();
    for (let page = 0; ; page++) {
      const res = await server.api.listWorkflows(page, pageSize).catch((err: unknown) => {
        if (err instanceof HttpError && err.status === 404) throw new OutputsError('NOT_FOUND', `${server.server}: the server has no workflow library (GET /workflows/ answered 404)`, { cause: err });
        throw err;
      });
      // A workflow saved or deleted between two pages shifts the rest: one may show up twice; it is printed once.
      for (const w of res.items) {
        if (seen.has(w.workflow_id)) continue;
        seen.add(w.workflow_id);
        out.push({ type: 'workflow', workflow_id: w.workflow_id, name: w.name, category: w.category, updated_at: w.updated_at });
      }
      if (page + 1 >= res.pages || res.items.length === 0) return out;
    }
  } finally {
    await server.close();
  }
}
