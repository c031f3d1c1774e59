/**
 * Create the first admin, non-interactively:
 *   npm run create-admin -w @keel/control-plane -- --email ops@example.com --password-stdin < secret.txt
 *   npm run create-admin -w @keel/control-plane -- --email ops@example.com --password '…'   (visible in ps: avoid)
 * Needs DATABASE_URL. Refuses weak passwords and existing e-mails. Prints nothing secret.
 */
import { parseArgs } from 'node:util';
import { ZodError } from 'zod';
import { createDb } from '../server/db.ts';
import { loadDbEnv } from '../server/env.ts';
import { UserExistsError, createUser } from '../server/services/create-user.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      'password-stdin': { type: 'boolean', default: false },
      name: { type: 'string' },
      role: { type: 'string', default: 'admin' },
    },
    strict: true,
  });
  if (!values.email) {
    console.error('usage: create-admin --email <address> (--password-stdin | --password <password>) [--name <name>]');
    return 2;
  }
  if (!values.password && !values['password-stdin']) {
    console.error('create-admin: give the password on standard input (--password-stdin) or with --password');
    return 2;
  }
  const password = values['password-stdin'] ? await readStdin() : (values.password ?? '');
  const env = loadDbEnv();
  const db = createDb(env.DATABASE_URL);
  try {
    const user = await createUser(db, { email: values.email, password, name: values.name, role: values.role as 'admin' }, { id: null, name: 'cli' });
    console.log(`created ${user.role} ${user.email}`);
    return 0;
  } catch (e) {
    if (e instanceof ZodError) {
      for (const i of e.issues) console.error(`create-admin: ${i.path.join('.') || 'input'}: ${i.message}`);
      return 1;
    }
    if (e instanceof UserExistsError) {
      console.error(`create-admin: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    await db.$disconnect();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`create-admin: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
