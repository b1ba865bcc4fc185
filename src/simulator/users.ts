import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { uuid } from './clock';
import type { JsonObject } from './json';

/** A user to create on a multi-user simulator (`SimulatorOptions.users`, `Simulator.addUser`). */
export interface SimUserSpec {
  /** Login name; compared case-insensitively. */
  email: string;
  password: string;
  /** @default false */
  isAdmin?: boolean;
  /** @default null */
  displayName?: string | null;
}

/** A user of the simulator, as tests need to know it. */
export interface SimUser {
  /** `user_id` on queue items and in `user:<id>` socket rooms. */
  readonly userId: string;
  readonly email: string;
  readonly isAdmin: boolean;
  readonly displayName: string | null;
}

/** One row of the users table (`users` service at HEAD). */
export interface UserRecord extends SimUser {
  isActive: boolean;
  /** Bumped to revoke every token minted before (password change at HEAD, docs/protocol.md §1.3). */
  tokenEpoch: number;
  readonly createdMs: number;
  updatedMs: number;
  lastLoginMs: number | null;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/**
 * The account created on every multi-user simulator: an administrator, so a fresh simulator needs no setup
 * (`setup_required` is false). Add others with `SimulatorOptions.users` or `Simulator.addUser`.
 */
export const DEFAULT_ADMIN = { email: 'admin@invokeai.local', password: 'invokeai-admin' } as const;

const digest = (salt: Buffer, password: string): Buffer => createHash('sha256').update(salt).update(password, 'utf8').digest();

export class UserStore {
  private readonly byId = new Map<string, UserRecord>();

  add(spec: SimUserSpec): UserRecord {
    const email = spec.email.trim();
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw new Error(`addUser: '${spec.email}' is not an email address`);
    if (this.byEmail(email)) throw new Error(`addUser: a user ${email} exists already`);
    if (spec.password.length === 0) throw new Error('addUser: empty password');
    const salt = randomBytes(16);
    const now = Date.now();
    const user: UserRecord = {
      userId: uuid(),
      email,
      isAdmin: spec.isAdmin ?? false,
      displayName: spec.displayName ?? null,
      isActive: true,
      tokenEpoch: 0,
      createdMs: now,
      updatedMs: now,
      lastLoginMs: null,
      salt,
      hash: digest(salt, spec.password),
    };
    this.byId.set(user.userId, user);
    return user;
  }

  get(userId: string): UserRecord | undefined {
    return this.byId.get(userId);
  }

  byEmail(email: string): UserRecord | undefined {
    const e = email.trim().toLowerCase();
    for (const u of this.byId.values()) if (u.email.toLowerCase() === e) return u;
    return undefined;
  }

  list(): UserRecord[] {
    return [...this.byId.values()];
  }

  /** The user these credentials belong to, or undefined. */
  authenticate(email: string, password: string): UserRecord | undefined {
    const u = this.byEmail(email);
    if (!u) return undefined;
    return timingSafeEqual(digest(u.salt, password), u.hash) ? u : undefined;
  }

  /** `UserDTO` (docs/protocol.md §5.8). */
  static toDTO(u: UserRecord): JsonObject {
    const iso = (ms: number): string => new Date(ms).toISOString();
    return {
      user_id: u.userId,
      email: u.email,
      display_name: u.displayName,
      is_admin: u.isAdmin,
      is_active: u.isActive,
      created_at: iso(u.createdMs),
      updated_at: iso(u.updatedMs),
      last_login_at: u.lastLoginMs === null ? null : iso(u.lastLoginMs),
      token_epoch: u.tokenEpoch,
    };
  }

  static toSimUser(u: UserRecord): SimUser {
    return { userId: u.userId, email: u.email, isAdmin: u.isAdmin, displayName: u.displayName };
  }
}
