import type { SimContext } from '../context';
import { HttpError, type Router } from '../router';

export function appRoutes(r: Router, ctx: SimContext): void {
  r.add('GET', '/app/version', () => ({ status: 200, json: { version: ctx.profile.version } }));
  r.add('GET', '/auth/status', () => {
    // Servers before 6.12 have no auth router at all (PROTOCOL §5.7).
    if (!ctx.profile.authStatusEndpoint) throw new HttpError(404, 'Not Found');
    return { status: 200, json: { setup_required: false, multiuser_enabled: false, strict_password_checking: false, admin_email: null } };
  });
  r.add('POST', '/auth/login', () => {
    throw new HttpError(403, 'Authentication is not required in single-user mode');
  });
}
