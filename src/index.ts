/** invokeai-outputs: which images each InvokeAI workflow run produced, and on which board. */
export { watchOutputs, Watcher, type WatchOptions, type WatcherEvents } from './watch/watcher';
export { resolveItem, type ResolveOptions, type ResolveResult } from './resolve';
export { runWorkflow, type RunWorkflowOptions, type RunResult, type RunProgress } from './run/runWorkflow';
export type { RunInputOptions } from './run/options';
export { listWorkflows, type ListWorkflowsOptions, type WorkflowListRecord } from './workflows';
export type { ImageRecord, ItemRecord, OutputRecord, ItemNodeSummary, BoardSummary, Via, TerminalStatus, CancelReason } from './records';
export { OutputsError, type OutputsErrorCode } from './errors';
export { createWinstonLogger, noopLogger, MemoryLogger, type Logger, type LogLevel } from './log';
export { loadConfig, DEFAULT_CONFIG, type Config } from './config';
