/*
 * The README's "Library" example, type-checked by `npm run typecheck` (never run). The lines between the markers
 * are the README's code block, with the import pointing at the sources; test/unit/readme.test.ts
 * keeps the two the same.
 */
// README:begin
import { readFileSync } from 'node:fs';
import { watchOutputs, runWorkflow, resolveItem, listWorkflows, type ImageRecord, type ItemRecord } from '../../src';

export async function main(): Promise<void> {
  const url = 'http://127.0.0.1:9090';

  // The daemon: every output image and every finished queue item, as Observables and as events.
  const watcher = watchOutputs({ url, queueId: 'default' });
  watcher.images$.subscribe((img: ImageRecord) => console.log(img.node_id, img.image_name, img.board_id));
  watcher.on('item', (item: ItemRecord) => console.log(item.item_id, item.status, item.new_images));
  watcher.on('connected', (server) => console.error('connected to', server));
  watcher.on('error', (err) => console.error(err.message));
  // …
  await watcher.close(); // drains like SIGTERM does

  // Submit a workflow exported from the editor and get exactly its outputs.
  const workflow: unknown = JSON.parse(readFileSync('my-workflow.json', 'utf8'));
  const { images, items } = await runWorkflow({ url, workflow, board: 'my-board-id', timeoutMs: 600_000 });
  for (const img of images) console.log(img.image_name, img.board_id, img.width, img.height);
  console.log(items.map((i) => `${i.item_id} ${i.status}`));

  // A library workflow with its inputs set (values as given, not parsed) and a local image uploaded into a field.
  const ran = await runWorkflow({
    url,
    workflowId: '4f79d152-…', // or workflow: <editor export>, or graph: <bare graph>
    set: { 'Positive Prompt': 'a cat', 'noise.seed': 42 },
    images: { '7b056f05-a4fe-40d3-b913-1a4b3897230f.image': '/path/in.png' },
  });
  console.log(ran.items.length, (await listWorkflows({ url })).map((w) => w.name)); // the library, every page

  // One queue item after the fact (waits while it still runs).
  const { item } = await resolveItem({ url, itemId: 158 });
  if (!item.complete) console.error(`item ${item.item_id}: not every output could be confirmed`);
}
// README:end
