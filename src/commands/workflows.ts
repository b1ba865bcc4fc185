import type { Config } from '../config';
import type { Logger } from '../log';
import { NdjsonWriter } from '../output/ndjson';
import { listWorkflows } from '../workflows';

/** `workflows`: one NDJSON line per workflow of the server's library. */
export async function runWorkflows(cfg: Readonly<Config>, log: Logger, writer = new NdjsonWriter()): Promise<number> {
  try {
    const list = await listWorkflows({ url: cfg.urls[0] ?? '', token: cfg.token, username: cfg.username, password: cfg.password, logger: log });
    for (const w of list) writer.write(w);
    log.info(`${list.length} workflow(s) in the library`);
    return 0;
  } finally {
    await writer.flush();
  }
}
