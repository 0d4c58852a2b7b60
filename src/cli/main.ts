// The btda command line: `run` (default), `add`, `torrents`, `report`, `explain`, `export`, `rederive`, `merge`, `demo`. Exit codes
// (README "Exit codes"): 0 done, 1 failed (database, listener port, ...), 2 bad command line or config,
// 3 database used by another run.
import yargs, { type Options } from 'yargs';
import { ConfigError, DURATION_HELP, yargsOptions } from './options.ts';
import { quietOnClosedPipe } from './output.ts';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

type Handler = (argv: Record<string, unknown>) => Promise<number>;
interface CommandModule {
  handler: Handler;
  options: () => Record<string, Options>;
}
const none = () => ({});

/**
 * Each command's module, imported only when the command runs: the crawl's cron start does not wait for the
 * report's, the demo's and the merge's code to load (about 0.6 s of a run's start here).
 */
const MODULES: Record<string, () => Promise<CommandModule>> = {
  run: async () => ({ handler: (await import('./commands/run.ts')).runCommand, options: none }),
  add: async () => ({ handler: (await import('./commands/add.ts')).addCommand, options: none }),
  torrents: async () => ({ handler: (await import('./commands/torrents.ts')).torrentsCommand, options: none }),
  demo: async () => {
    const m = await import('./commands/demo.ts');
    return { handler: m.demoCommand, options: () => m.demoOptions };
  },
  report: async () => {
    const m = await import('./commands/report.ts');
    return { handler: m.reportCommand, options: m.reportOptions };
  },
  explain: async () => {
    const m = await import('./commands/explain.ts');
    return { handler: m.explainCommand, options: m.explainOptions };
  },
  export: async () => {
    const m = await import('./commands/export.ts');
    return { handler: m.exportCommand, options: m.exportOptions };
  },
  rederive: async () => {
    const m = await import('./commands/rederive.ts');
    return { handler: m.rederiveCommand, options: m.rederiveOptions };
  },
  merge: async () => {
    const m = await import('./commands/merge.ts');
    return { handler: m.mergeCommand, options: m.mergeOptions };
  },
};

/** The commands, in the order of `btda --help`: one list for the parser's modules and the "unknown command" line. */
export const COMMANDS: readonly string[] = Object.keys(MODULES);

/**
 * The modules the command line needs: the command its first argument names, `run` when no argument names
 * one, and all of them when it cannot be told without parsing: a command's name after options may be the
 * command (`btda --db x report`) or an option's value (`btda --set demo` runs the crawl).
 */
async function loadModules(args: string[]): Promise<Map<string, CommandModule>> {
  const named = args.some((a) => Object.hasOwn(MODULES, a));
  const names = args.length > 0 && Object.hasOwn(MODULES, args[0]) ? [args[0]] : named ? Object.keys(MODULES) : ['run'];
  return new Map(await Promise.all(names.map(async (n) => [n, await MODULES[n]()] as const)));
}

/**
 * Words left over after the command. The default command catches every first word yargs does not know,
 * so without this `btda reprot` would start an internet crawl.
 */
function unexpectedWords(argv: Record<string, unknown>, command: string): void {
  const words = ((argv._ as unknown[]) ?? []).map(String);
  const rest = words[0] === command ? words.slice(1) : words;
  if (rest.length === 0) return;
  if (words[0] !== command) {
    throw new ConfigError(`unknown command "${rest[0]}"; the commands are ${COMMANDS.join(', ')} (btda --help)`);
  }
  throw new ConfigError(`unexpected argument "${rest[0]}" after ${command} (btda ${command} --help)`);
}

export async function main(args: string[]): Promise<number> {
  let code = EXIT_OK;
  quietOnClosedPipe(process.stdout);
  const modules = await loadModules(args);
  /** A command's module; a builder or handler only runs for the command parsed, whose module was loaded. */
  const mod = (command: string): CommandModule => {
    const m = modules.get(command);
    if (!m) throw new ConfigError(`cannot tell the command from this command line: name it first (btda ${command} ...)`);
    return m;
  };
  const options = (command: string) => mod(command).options();
  const guard = (command: string) => async (argv: Record<string, unknown>) => {
    try {
      if (command !== 'add') unexpectedWords(argv, command);
      code = await mod(command).handler(argv);
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`btda: ${err.message}\n`);
        code = EXIT_USAGE;
      } else {
        process.stderr.write(`btda: ${(err as Error).message}\n`);
        if (process.env.BTDA_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
        code = EXIT_FAILED;
      }
    }
  };

  const parser = yargs(args)
    .scriptName('btda')
    .usage('$0 [command] [options]\n\nCounts confirmed downloads in BitTorrent swarms. Without a command: run.')
    .command(['run', '$0'], 'crawl the torrents in the database (and the input folder) until stopped', (y) =>
      y.options(yargsOptions()).epilogue(DURATION_HELP), guard('run'))
    .command('add [inputs..]', 'import .torrent files, folders, magnet links or files of magnet links', (y) =>
      y.positional('inputs', { type: 'string', array: true, default: undefined, describe: 'paths or magnet links' })
        .options(yargsOptions(['db', 'setLabel'], { setLabel: 'set label given to the torrents imported now' })), guard('add'))
    .command('torrents', 'list the torrents in the database', (y) =>
      y.options(yargsOptions(['db', 'setLabel'], { setLabel: 'list only the torrents of this set' })), guard('torrents'))
    .command('demo', 'the main job on a local swarm of simulated peers (loopback only), then btda vs the truth', (y) =>
      y.options(options('demo')).epilogue('--duration: a number with a unit (30s, 2m); a plain number is seconds.'), guard('demo'))
    .command('report', 'confirmed vs reported downloads, sources, outcomes, clients (text, json, csv or html)',
      (y) => y.options(options('report')), guard('report'))
    .command('explain', 'the observations behind each confirmed download (or a peer row, or an address)', (y) =>
      y.options(options('explain')), guard('explain'))
    .command('export', 'write every table as CSV or JSON Lines files', (y) => y.options(options('export')), guard('export'))
    .command('rederive', 'compute every crossing again from the observations (--threshold: one threshold for all)',
      (y) => y.options(options('rederive')), guard('rederive'))
    .command('merge [inputs..]', 'merge databases (shards, hosts) into a new one (-o), counts re-derived',
      (y) => y.positional('inputs', { type: 'string', array: true, default: undefined, describe: 'SQLite files written by btda' })
        .options(options('merge')), guard('merge'))
    // `--no-pex` for every switch; values stay text for our own parser (`--set 007` keeps its zeros)
    .parserConfiguration({ 'boolean-negation': true, 'parse-numbers': false, 'parse-positional-numbers': false })
    .strictOptions()
    .exitProcess(false)
    .fail((msg, err) => {
      // throwing stops yargs from running the command after a usage error; yargs' own messages (invalid
      // choices) span lines: one line, like every other error
      throw err ?? new ConfigError(msg.replace(/\s*\n\s*/g, ' '));
    })
    .help()
    .version();
  try {
    await parser.parseAsync();
  } catch (err) {
    process.stderr.write(`btda: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  return code;
}
