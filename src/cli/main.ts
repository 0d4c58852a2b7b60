// The btda command line: `run` (default), `add`, `torrents`, `report`, `explain`, `export`, `rederive`, `merge`, `demo`. Exit codes
// (README "Exit codes"): 0 done, 1 failed (database, listener port, ...), 2 bad command line or config,
// 3 database used by another run.
import yargs from 'yargs';
import { addCommand } from './commands/add.ts';
import { demoCommand, demoOptions } from './commands/demo.ts';
import { explainCommand, explainOptions } from './commands/explain.ts';
import { exportCommand, exportOptions } from './commands/export.ts';
import { mergeCommand, mergeOptions } from './commands/merge.ts';
import { rederiveCommand, rederiveOptions } from './commands/rederive.ts';
import { reportCommand, reportOptions } from './commands/report.ts';
import { runCommand } from './commands/run.ts';
import { torrentsCommand } from './commands/torrents.ts';
import { ConfigError, DURATION_HELP, yargsOptions } from './options.ts';
import { quietOnClosedPipe } from './output.ts';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export const COMMANDS = ['run', 'add', 'torrents', 'report', 'export', 'rederive', 'merge', 'demo'] as const;

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
  const guard = (command: string, fn: (argv: Record<string, unknown>) => Promise<number>) => async (argv: Record<string, unknown>) => {
    try {
      if (command !== 'add') unexpectedWords(argv, command);
      code = await fn(argv);
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
      y.options(yargsOptions()).epilogue(DURATION_HELP), guard('run', runCommand))
    .command('add <inputs..>', 'import .torrent files, folders, magnet links or files of magnet links', (y) =>
      y.positional('inputs', { type: 'string', array: true, describe: 'paths or magnet links' })
        .options(yargsOptions(['db', 'setLabel'], { setLabel: 'set label given to the torrents imported now' })), guard('add', addCommand))
    .command('torrents', 'list the torrents in the database', (y) =>
      y.options(yargsOptions(['db', 'setLabel'], { setLabel: 'list only the torrents of this set' })), guard('torrents', torrentsCommand))
    .command('demo', 'the main job on a local swarm of simulated peers (loopback only), then btda vs the truth', (y) =>
      y.options(demoOptions).epilogue(DURATION_HELP), guard('demo', demoCommand))
    .command('report', 'confirmed vs reported downloads, sources, outcomes, clients (text, json, csv or html)',
      (y) => y.options(reportOptions()), guard('report', reportCommand))
    .command('explain', 'the observations behind each confirmed download (or a peer row, or an address)', (y) =>
      y.options(explainOptions()), guard('explain', explainCommand))
    .command('export', 'write every table as CSV or JSON Lines files', (y) => y.options(exportOptions()), guard('export', exportCommand))
    .command('rederive', 'compute every crossing again from the observations (--threshold: one threshold for all)',
      (y) => y.options(rederiveOptions()), guard('rederive', rederiveCommand))
    .command('merge <inputs..>', 'merge databases (shards, hosts) into a new one (-o), counts re-derived',
      (y) => y.positional('inputs', { type: 'string', array: true, describe: 'SQLite files written by btda' })
        .options(mergeOptions()), guard('merge', mergeCommand))
    // `--no-pex` for every switch; values stay text for our own parser (`--set 007` keeps its zeros)
    .parserConfiguration({ 'boolean-negation': true, 'parse-numbers': false, 'parse-positional-numbers': false })
    .strictOptions()
    .exitProcess(false)
    .fail((msg, err) => {
      // throwing stops yargs from running the command after a usage error
      throw err ?? new ConfigError(msg);
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
