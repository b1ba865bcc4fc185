/*
 * Type-level promises of the public API (checked by `npm run typecheck`, never run): what CONTRACT.md's library
 * example writes must compile, and misuse must not.
 */
import type { Observable } from 'rxjs';
import { listWorkflows, resolveItem, runWorkflow, watchOutputs, type ImageRecord, type ItemRecord, type OutputRecord, type WorkflowListRecord } from '../../src';

export async function contractExample(url: string, token: string, graph: unknown): Promise<void> {
  const watcher = watchOutputs({ url, queueId: 'default', token });
  const images: Observable<ImageRecord> = watcher.images$;
  const items: Observable<ItemRecord> = watcher.items$;
  watcher.on('image', (r: ImageRecord) => r.image_name);
  watcher.on('item', (r: ItemRecord) => r.new_images);
  watcher.on('connected', (server: string) => server);
  watcher.on('disconnected', (server: string, reason: string) => `${server} ${reason}`);
  watcher.on('error', (e: Error) => e.message);
  await watcher.close();
  const { items: ran } = await runWorkflow({ url, graph, tempBoard: true });
  const item = await resolveItem({ url, itemId: 158 });
  void [images, items, ran, item];

  const anItem = {} as ItemRecord;
  // @ts-expect-error records are a discriminated union: an item record has no image_name
  const nope: unknown = anItem.image_name;
  // @ts-expect-error unknown events are refused
  watcher.on('imgae', () => undefined);
  // @ts-expect-error a record's type is 'image' | 'item'
  const t: OutputRecord['type'] = 'progress';
  // @ts-expect-error itemId is a number
  await resolveItem({ url, itemId: '158' });
  void [nope, t];

  // CONTRACT.md "run: saved workflows and inputs": a library workflow, inputs set, images uploaded.
  await runWorkflow({ url, workflowId: 'w', set: { 'prompt.value': 'a cat', 'noise.seed': 7 }, images: { 'image.image': '/path/in.png' } });
  // @ts-expect-error an image is a path
  await runWorkflow({ url, workflowId: 'w', images: { 'image.image': 42 } });
  const library: WorkflowListRecord[] = await listWorkflows({ url });
  // @ts-expect-error listed workflows are `workflow` records
  const notAnImage: ImageRecord['type'] = library[0]!.type;
  void notAnImage;
}
