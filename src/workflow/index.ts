export { WorkflowError, formatPath } from './errors';
export type { PathSegment } from './errors';
export { graphSchema, parseGraph } from './graph';
export type { EdgeEndpoint, Graph, GraphEdge, GraphNode } from './graph';
export { NO_BOARD, WITH_BOARD_NODE_TYPES, savesToBoard, setGraphBoard } from './boards';
export type { BoardField } from './boards';
export {
  editorEdgeSchema,
  editorNodeSchema,
  editorWorkflowSchema,
  fieldInputSchema,
  invocationNodeDataSchema,
} from './schema';
export type { EditorEdge, EditorNode, EditorWorkflow, FieldInput, InvocationNodeData } from './schema';
export { isEditorWorkflow, workflowToGraph } from './toGraph';
export type { WorkflowToGraphOptions } from './toGraph';
