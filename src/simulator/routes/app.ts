import type { SimContext } from '../context';
import type { Router } from '../router';

export function appRoutes(r: Router, ctx: SimContext): void {
  r.add('GET', '/app/version', () => ({ status: 200, json: { version: ctx.profile.version } }), { public: true });
}
