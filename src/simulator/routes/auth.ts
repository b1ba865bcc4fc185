import type { SimAuth } from '../auth';
import type { SimContext } from '../context';
import { HttpError, type Handler, type Router } from '../router';

/** The auth router (v6.12+, docs/protocol.md §5.8); `/auth/status` and `/auth/login` need no token. */
export function authRoutes(r: Router, ctx: SimContext, auth: SimAuth): void {
  // Servers before 6.12 have no auth router at all (docs/protocol.md §5.7).
  const ifPresent =
    (h: Handler): Handler =>
    (req) => {
      if (!ctx.profile.authStatusEndpoint) throw new HttpError(404, 'Not Found');
      return h(req);
    };
  r.add('GET', '/auth/status', ifPresent(() => ({ status: 200, json: auth.status() })), { public: true });
  r.add('POST', '/auth/login', ifPresent(({ body }) => ({ status: 200, json: auth.login(body) })), { public: true });
  r.add('GET', '/auth/me', ifPresent(({ caller }) => ({ status: 200, json: auth.me(caller) })));
  r.add('POST', '/auth/logout', ifPresent(() => ({ status: 200, json: { success: true } })));
}
