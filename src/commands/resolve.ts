import type { Config } from '../config';
import type { Logger } from '../log';
import { NdjsonWriter } from '../output/ndjson';
import { resolveItem } from '../resolve';

/** Prints the records of one item; exit 1 when it ended failed or canceled. */
export async function runResolve(cfg: Readonly<Config>, itemId: number, log: Logger, writer = new NdjsonWriter()): Promise<number> {
  const url = cfg.urls[0] ?? '';
  const { images, item } = await resolveItem({
    url,
    itemId,
    queueId: cfg.queue,
    token: cfg.token,
    username: cfg.username,
    password: cfg.password,
    includeIntermediate: cfg.includeIntermediate,
    ...(cfg.download ? { download: cfg.download } : {}),
    logger: log,
  });
  for (const rec of images) writer.write(rec);
  writer.write(item);
  await writer.flush();
  return item.status === 'completed' ? 0 : 1;
}
