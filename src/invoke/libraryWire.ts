import { z } from 'zod';

/*
 * The workflow library's DTOs (`routers/workflows.py`, `workflow_records_common.py@HEAD`), as far as they are read:
 * unknown keys are kept, so newer servers' extra fields pass.
 */

/** `WorkflowRecordWithThumbnailDTO` of `GET /workflows/i/{id}`: `workflow` is the saved editor workflow. */
export const workflowRecordSchema = z.looseObject({
  workflow_id: z.string(),
  workflow: z.looseObject({}),
});
export type WireWorkflowRecord = z.infer<typeof workflowRecordSchema>;

/** `WorkflowRecordListItemWithThumbnailDTO`. */
export const workflowListItemSchema = z.looseObject({
  workflow_id: z.string(),
  name: z.string(),
  category: z.string(),
  updated_at: z.string(),
});
export type WireWorkflowListItem = z.infer<typeof workflowListItemSchema>;

/** `PaginatedResults[WorkflowRecordListItemWithThumbnailDTO]` of `GET /workflows/`. */
export const workflowPageSchema = z.looseObject({
  page: z.number().int(),
  pages: z.number().int(),
  per_page: z.number().int(),
  total: z.number().int(),
  items: z.array(workflowListItemSchema),
});
export type WireWorkflowPage = z.infer<typeof workflowPageSchema>;
