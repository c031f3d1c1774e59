/**
 * Create an agent token for one member of a cluster (and the cluster, when new); prints it once:
 *   npm run create-agent-token -w @keel/control-plane -- --cluster <scope> --member <name> [--member <name> ...] [--label <text>] [--quiet]
 * Put it in that agent's YAML as controlplane.token (the member is the agent's `name`). One token
 * per member is recommended; repeating --member makes one token for that explicit list. Only its
 * hash is stored. Needs DATABASE_URL.
 */
import { parseArgs } from 'node:util';
import { ZodError } from 'zod';
import { createDb } from '../server/db.ts';
import { loadDbEnv } from '../server/env.ts';
import { createAgentToken } from '../server/services/create-agent-token.ts';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      cluster: { type: 'string' },
      member: { type: 'string', multiple: true },
      label: { type: 'string', default: '' },
      quiet: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.cluster || !values.member?.length) {
    console.error('usage: create-agent-token --cluster <scope> --member <name> [--member <name> ...] [--label <text>] [--quiet]');
    console.error('  a token speaks only for the members it names (the agents\' `name`); one token per member is recommended');
    return 2;
  }
  const db = createDb(loadDbEnv().DATABASE_URL);
  try {
    const t = await createAgentToken(db, { scope: values.cluster, members: values.member, label: values.label }, { id: null, name: 'cli' });
    if (values.quiet) {
      console.log(t.token);
    } else {
      console.error(`agent token ${t.prefix} for ${t.members.map((m) => `"${m}"`).join(', ')} of cluster "${t.scope}" (shown once; only its hash is stored):`);
      console.log(t.token);
    }
    return 0;
  } catch (e) {
    if (e instanceof ZodError) {
      for (const i of e.issues) console.error(`create-agent-token: ${i.path.join('.') || 'input'}: ${i.message}`);
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
    console.error(`create-agent-token: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
