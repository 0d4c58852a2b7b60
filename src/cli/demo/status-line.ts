// Live progress of the demo: on a terminal one status line redrawn in place, with swarm events printed
// above it; otherwise (a pipe, a log, a test) plain lines: each event, and the status every 5 seconds.

const PLAIN_EVERY_S = 5;

export class StatusLine {
  private last = '';
  private nextPlainAt = PLAIN_EVERY_S;
  private finished = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly durationS: number,
  ) {}

  private get tty(): boolean {
    return this.stream.isTTY === true;
  }

  update(elapsedS: number, text: string): void {
    if (this.finished) return;
    const line = `[${elapsedS.toFixed(0).padStart(String(this.durationS).length)}/${this.durationS} s] ${text}`;
    if (this.tty) {
      const width = Math.max(20, (this.stream.columns ?? 100) - 1);
      this.last = line.length > width ? `${line.slice(0, width - 1)}…` : line;
      this.stream.write(`\r\x1b[2K${this.last}`);
    } else if (elapsedS >= this.nextPlainAt) {
      this.nextPlainAt += PLAIN_EVERY_S;
      this.stream.write(`${line}\n`);
    }
  }

  event(text: string): void {
    if (this.finished) return;
    if (this.tty) this.stream.write(`\r\x1b[2K${text}\n${this.last}`);
    else this.stream.write(`${text}\n`);
  }

  /** Clears the status line (a terminal keeps the events above it). */
  done(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.tty && this.last) this.stream.write('\r\x1b[2K');
  }
}
