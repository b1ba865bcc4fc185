import type { SimContext } from '../context';
import { isJsonObject } from '../json';
import { HttpError, Unprocessable, q, type Router } from '../router';
import { WORKFLOW_ORDER_BY, WorkflowLibrary } from '../workflows';
import { bodyObject } from './body';

/**
 * The workflow library (6.14+, `routers/workflows.py@HEAD`): create, read, list.
 * Older generations had a library too, with other DTOs; the simulator serves it only where workflows can be called.
 */
export function workflowRoutes(r: Router, ctx: SimContext, multiuser: boolean): void {
  if (!ctx.profile.workflowCallFields) return;
  const { workflows } = ctx;

  r.add('POST', '/workflows/', ({ body, caller }) => {
    const raw = bodyObject(body)['workflow'];
    const meta = isJsonObject(raw) ? raw['meta'] : undefined;
    // `create` raises a bare ValueError for these: FastAPI's 500.
    if (isJsonObject(meta) && meta['category'] === 'default') throw new Error('Default workflows cannot be created via this method');
    // Single-user workflows are shared by default; multi-user ones private to their creator.
    const { record, issues } = workflows.create(raw, caller.userId, !multiuser);
    if (!record) throw new Unprocessable(issues);
    return { status: 200, json: WorkflowLibrary.toDTO(record) };
  });

  r.add('GET', '/workflows/', ({ query, caller }) => {
    const categories = query.getAll('categories').map((c, i) => {
      if (c === 'user' || c === 'default') return c;
      throw new Unprocessable([{ type: 'enum', loc: ['query', 'categories', i], msg: "Input should be 'user' or 'default'", input: c, ctx: { expected: "'user' or 'default'" } }]);
    });
    const isPublic = q.bool(query, 'is_public');
    const tags = query.getAll('tags');
    const text = query.get('query');
    const hasBeenOpened = q.bool(query, 'has_been_opened');
    const callable = q.bool(query, 'callable');
    // Multi-user: user workflows are the caller's own (defaults are everyone's), unless shared ones are asked for.
    const scoped = multiuser && (categories.length === 0 || categories.includes('user')) && isPublic !== true;
    const page = workflows.list({
      page: q.int(query, 'page') ?? 0,
      perPage: q.int(query, 'per_page') ?? null,
      orderBy: q.oneOf(query, 'order_by', WORKFLOW_ORDER_BY) ?? 'name',
      direction: q.oneOf(query, 'direction', ['ASC', 'DESC'] as const) ?? 'ASC',
      ...(categories.length ? { categories } : {}),
      ...(tags.length ? { tags } : {}),
      ...(text === null ? {} : { query: text }),
      ...(hasBeenOpened === undefined ? {} : { hasBeenOpened }),
      ...(isPublic === undefined ? {} : { isPublic }),
      ...(callable === undefined ? {} : { callable }),
      ...(scoped ? { userId: caller.userId } : {}),
    });
    return { status: 200, json: page };
  });

  r.add('GET', '/workflows/i/{workflow_id}', ({ params, caller }) => {
    const record = workflows.get(params['workflow_id'] ?? '');
    if (!record) throw new HttpError(404, 'Workflow not found');
    if (multiuser) {
      const meta = record.workflow['meta'];
      const isDefault = isJsonObject(meta) && meta['category'] === 'default';
      if (!(isDefault || record.user_id === caller.userId || record.is_public || caller.isAdmin)) throw new HttpError(403, 'Not authorized to access this workflow');
    }
    return { status: 200, json: WorkflowLibrary.toDetailDTO(record) };
  });
}
