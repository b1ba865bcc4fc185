import type { SimContext } from '../context';
import { isJsonObject } from '../json';
import { HttpError, Unprocessable, type Router } from '../router';
import { WorkflowLibrary } from '../workflows';
import { bodyObject } from './body';

/**
 * The workflow library as far as saved-workflow calls need it (6.14+, `routers/workflows.py@HEAD`): create and read.
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
