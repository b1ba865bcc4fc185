import type { ProfileSpec } from './profiles';
import type { RouteResult } from './router';

const INDEX = Buffer.from('<!doctype html>\n<html lang="en"><head><meta charset="UTF-8" /><title>Invoke - Community Edition</title></head><body><div id="root"></div></body></html>\n');

/**
 * What InvokeAI's web UI, a `StaticFiles(html=True)` mount at `/` (`api_app.py`), answers for every request no API
 * route takes, including a known path asked with another method: any method but GET/HEAD is a 405
 * `{"detail":"Method Not Allowed"}`; a GET is a 404 `{"detail":"Not Found"}`, or from 6.12 the SPA's `index.html`
 * (`no_cache_staticfiles.py@v6.12.0`). A server run without a built UI would answer 404 throughout.
 */
export function uiMount(profile: ProfileSpec): (method: string) => RouteResult {
  return (method) => {
    if (method !== 'GET' && method !== 'HEAD') return { status: 405, json: { detail: 'Method Not Allowed' } };
    if (profile.spaFallback) return { status: 200, bytes: INDEX, contentType: 'text/html; charset=utf-8', headers: { 'cache-control': 'max-age=0, no-cache, no-store, , must-revalidate' } };
    return { status: 404, json: { detail: 'Not Found' } };
  };
}
