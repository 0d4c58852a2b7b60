// A tiny levelled logger: one line per event, to standard error or a log file.
import { appendFileSync } from 'node:fs';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface LoggerOptions {
  debug?: boolean;
  quiet?: boolean;
  /** Append to this file instead of writing to standard error. */
  file?: string;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const write = (level: string, msg: string) => {
    const line = `${new Date().toISOString()} ${level} ${msg}\n`;
    if (opts.file) {
      try {
        appendFileSync(opts.file, line);
        return;
      } catch {
        // fall through to stderr: a log we cannot write must not stop the measurement
      }
    }
    process.stderr.write(line);
  };
  return {
    debug: (m) => opts.debug && write('debug', m),
    info: (m) => !opts.quiet && write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
