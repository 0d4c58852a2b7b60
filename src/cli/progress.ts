// Live progress: one status line on a terminal (cli-progress), a plain log line per interval otherwise.
import cliProgress from 'cli-progress';
import type { Logger } from '../log.ts';
import type { CrawlProgress } from './crawl.ts';

export interface ProgressDisplay {
  update(p: CrawlProgress): void;
  stop(): void;
}

/** `durationS` > 0 draws a bar of the elapsed run time. Plain lines every `plainEveryS` seconds. */
export function createProgressDisplay(opts: { durationS: number; log: Logger; plainEveryS?: number }): ProgressDisplay {
  let lastContacts = 0;
  let lastAt = 0;
  const rate = (p: CrawlProgress) => {
    const dt = (p.elapsedMs - lastAt) / 1000;
    const r = dt > 0 ? (p.contacts - lastContacts) / dt : 0;
    lastContacts = p.contacts;
    lastAt = p.elapsedMs;
    return Math.round(r);
  };
  const fields = (p: CrawlProgress, perSecond: number) => ({
    queued: p.queued,
    inFlight: p.inFlight,
    perSecond,
    known: p.known,
    successes: p.successes,
    confirmed: p.confirmed,
    failures: p.failures,
    incoming: p.incoming,
    skipped: p.skipped,
    watching: p.watch?.watching ?? 0,
  });

  if (process.stderr.isTTY) {
    const withBar = opts.durationS > 0;
    const bar = new cliProgress.SingleBar(
      {
        format: `${withBar ? '{bar} {percentage}% | ' : ''}queue {queued} | in flight {inFlight} | {perSecond} contacts/s | ` +
          'peers {known} | ok {successes} | confirmed {confirmed} | watching {watching} | failed {failures} | incoming {incoming} | skipped {skipped}',
        stream: process.stderr,
        hideCursor: true,
        barsize: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(withBar ? opts.durationS : 1, 0, fields({ runId: 0, elapsedMs: 0, queued: 0, inFlight: 0, known: 0, contacts: 0, successes: 0, failures: 0, incoming: 0, confirmed: 0, skipped: 0 }, 0));
    return {
      update(p) {
        bar.update(withBar ? Math.min(opts.durationS, p.elapsedMs / 1000) : 0, fields(p, rate(p)));
      },
      stop() {
        bar.stop();
      },
    };
  }

  const every = (opts.plainEveryS ?? 60) * 1000;
  let nextAt = every;
  return {
    update(p) {
      if (p.elapsedMs < nextAt) return;
      nextAt += every;
      const f = fields(p, rate(p));
      opts.log.info(
        `queue ${f.queued}, in flight ${f.inFlight}, ${f.perSecond} contacts/s, peers ${f.known}, ok ${f.successes}, ` +
          `confirmed ${f.confirmed}, watching ${f.watching}, failed ${f.failures}, incoming ${f.incoming}, skipped ${f.skipped}`,
      );
    },
    stop() {},
  };
}
