/**
 * keelctl: the command-line tool of Keel, in the spirit of patronictl. This file only wires things up:
 * global options -> settings -> a Ctl; each command lives in commands/<name>.ts; errors become one
 * "Error: ..." line and an exit code (errors.ts), never a stack trace.
 */

import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import type { Register, Run } from './command.ts';
import { register as editConfig } from './commands/edit-config.ts';
import { register as failover } from './commands/failover.ts';
import { register as flush } from './commands/flush.ts';
import { register as history } from './commands/history.ts';
import { register as list } from './commands/list.ts';
import { register as pause } from './commands/pause.ts';
import { register as reinit } from './commands/reinit.ts';
import { register as reload } from './commands/reload.ts';
import { register as restart } from './commands/restart.ts';
import { register as resume } from './commands/resume.ts';
import { register as showConfig } from './commands/show-config.ts';
import { register as standbyCluster } from './commands/standby-cluster.ts';
import { register as switchover } from './commands/switchover.ts';
import { register as topology } from './commands/topology.ts';
import { KEELCTL_VERSION, register as version } from './commands/version.ts';
import { RealCtl, terminalIo, type Ctl, type Io } from './context.ts';
import { CliError, EXIT, EXIT_CODES_HELP } from './errors.ts';
import { resolveSettings, type FileAccess, type GlobalFlags } from './settings.ts';

const COMMANDS: Register[] = [list, topology, history, showConfig, version, switchover, failover, restart, reinit, reload, pause, resume, flush, editConfig, standbyCluster];

const HELP_FOOTER = `
Finding the cluster (highest first):
  --scope, --namespace, -d/--dcs-url HOST:PORT
  PATRONI_SCOPE, PATRONI_NAMESPACE, PATRONI_ETCD3_HOSTS, DCS_URL, PATRONI_RESTAPI_USERNAME/PASSWORD
  a YAML file: -c FILE, $KEEL_CONFIG, $PATRONICTL_CONFIG_FILE, ~/.config/keel/keelctl.yaml,
  ~/.config/patroni/patronictl.yaml. The agent's own configuration file works as it is (scope, namespace,
  etcd3.hosts, restapi.authentication; a ctl.authentication section wins over restapi's).

Commands that change something ask for confirmation on the terminal; without a terminal they
refuse unless --force is given.

${EXIT_CODES_HELP}`;

const realFiles: FileAccess = {
  read: (p) => fs.readFileSync(p, 'utf8'),
  exists: (p) => fs.existsSync(p),
};

export interface MainDeps {
  io?: Io;
  env?: NodeJS.ProcessEnv;
  files?: FileAccess;
  /** Builds the Ctl from the global options (tests inject a fake). */
  makeCtl?: (flags: GlobalFlags, io: Io) => Ctl;
}

/** Parses argv (without "node keelctl") and runs the command; resolves to the exit code. */
export async function main(argv: readonly string[], deps: MainDeps = {}): Promise<number> {
  const io = deps.io ?? terminalIo();
  const env = deps.env ?? process.env;
  const makeCtl = deps.makeCtl ?? ((flags, io2) => new RealCtl(resolveSettings(flags, env, deps.files ?? realFiles), io2));
  let exitCode: number = EXIT.ok;

  const fail = (e: unknown): number => {
    if (e instanceof CliError) {
      if (!e.reported && e.message) io.err(`Error: ${e.message}`);
      return e.exitCode;
    }
    io.err(`Error: ${e instanceof Error ? e.message : String(e)}`);
    if (env.KEELCTL_DEBUG && e instanceof Error && e.stack) io.err(e.stack);
    return EXIT.failed;
  };

  const program = new Command('keelctl');
  program
    .description('Command-line tool of Keel, a Patroni-compatible PostgreSQL high-availability system')
    .version(KEELCTL_VERSION, '--version', 'print the keelctl version')
    .option('-c, --config-file <file>', 'configuration file (the agent YAML works)')
    .addOption(new Option('--config <file>', 'alias of --config-file').hideHelp())
    .option('-d, --dcs-url <url>', 'etcd to use, e.g. 127.0.0.1:2379 or etcd3://host:2379 (alias --dcs)')
    .addOption(new Option('--dcs <url>').hideHelp())
    .option('--scope <name>', 'the cluster (scope) name')
    .option('--namespace <path>', 'the DCS namespace (default /service/)')
    .option('--dcs-timeout <seconds>', 'deadline of each etcd call', '5')
    .option('-k, --insecure', 'accepted for patronictl compatibility (TLS is not implemented yet)')
    .addHelpText('after', HELP_FOOTER)
    .showHelpAfterError('(run keelctl --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, '')),
      writeErr: (s) => io.err(s.replace(/\n$/, '')),
    });

  const run: Run = async (body) => {
    const g = program.opts<{ configFile?: string; config?: string; dcsUrl?: string; dcs?: string; scope?: string; namespace?: string; dcsTimeout?: string }>();
    let ctl: Ctl | null = null;
    try {
      const flags: GlobalFlags = {};
      const configFile = g.configFile ?? g.config;
      const dcsUrl = g.dcsUrl ?? g.dcs;
      if (configFile !== undefined) flags.configFile = configFile;
      if (dcsUrl !== undefined) flags.dcsUrl = dcsUrl;
      if (g.scope !== undefined) flags.scope = g.scope;
      if (g.namespace !== undefined) flags.namespace = g.namespace;
      if (g.dcsTimeout !== undefined) flags.dcsTimeout = g.dcsTimeout;
      ctl = makeCtl(flags, io);
      await body(ctl);
    } catch (e) {
      exitCode = fail(e);
    } finally {
      await ctl?.close();
    }
  };

  for (const reg of COMMANDS) reg(program, run);
  for (const cmd of program.commands) {
    cmd.exitOverride().showHelpAfterError(`(run keelctl ${cmd.name()} --help for usage)`);
    cmd.configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) });
  }

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with exit code 0; bad usage (and no command) with 1 in commander, 2 in keelctl
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    return fail(e);
  }
  return exitCode;
}

/** Runs keelctl on process.argv and exits (bin/keelctl.js, or `node --import tsx apps/cli/src/main.ts`). */
export async function cli(): Promise<never> {
  const code = await main(process.argv.slice(2));
  // etcd's gRPC channels may keep the event loop alive for a while after close(): do not wait for them
  process.exit(code);
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) await cli();
