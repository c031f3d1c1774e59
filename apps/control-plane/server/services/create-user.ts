/**
 * Create a user with a password (the CLI's create-admin and the admin UI). The password is hashed
 * with better-auth's own hasher, and stored where better-auth looks for it (an Account row with
 * providerId "credential"), so the user signs in through better-auth like any other.
 */
import { randomUUID } from 'node:crypto';
import { hashPassword } from 'better-auth/crypto';
import { z } from 'zod';
import type { TDb } from '../db.ts';
import { checkPassword } from '../lib/password-policy.ts';
import { ZRole, type TRole } from '../lib/roles.ts';
import { appendAuditInTx } from './append-audit.ts';

export const ZEmail = z.email().max(320).transform((e) => e.trim().toLowerCase());

export const ZCreateUser = z
  .object({
    email: ZEmail,
    name: z.string().trim().max(200).optional(),
    password: z.string(),
    role: ZRole.default('viewer'),
  })
  .superRefine((v, ctx) => {
    const why = checkPassword(v.password, v.email);
    if (why) ctx.addIssue({ code: 'custom', path: ['password'], message: why });
  });
export type TCreateUser = z.input<typeof ZCreateUser>;

export class UserExistsError extends Error {
  constructor(email: string) {
    super(`a user with the e-mail ${email} already exists`);
    this.name = 'UserExistsError';
  }
}

export interface TUserView {
  id: string;
  email: string;
  name: string;
  role: TRole;
  createdAt: string;
}

export async function createUser(db: TDb, input: TCreateUser, actor: { id: string | null; name: string }): Promise<TUserView> {
  const v = ZCreateUser.parse(input);
  const passwordHash = await hashPassword(v.password);
  return db.$transaction(async (tx) => {
    const existing = await tx.user.findUnique({ where: { email: v.email }, select: { id: true } });
    if (existing) throw new UserExistsError(v.email);
    const id = randomUUID();
    const user = await tx.user.create({
      data: {
        id,
        email: v.email,
        name: v.name || v.email.split('@')[0] || v.email,
        role: v.role,
        emailVerified: true,
        accounts: { create: { id: randomUUID(), accountId: id, providerId: 'credential', password: passwordHash } },
      },
      select: { id: true, email: true, name: true, role: true, createdAt: true },
    });
    await appendAuditInTx(tx, { actorId: actor.id, actor: actor.name, action: 'user.create', target: `user:${user.email}`, details: { userId: user.id, role: user.role } });
    return { ...user, createdAt: user.createdAt.toISOString() };
  });
}
