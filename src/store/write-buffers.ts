// The writer's in-memory buffers: rows wait here until a transaction has committed them, and leave
// from the head without copying the rest each time. And the writer's clock text, cached per second.
import type { PeerSource } from '../types.ts';
import { isoTime } from './time.ts';

/** A FIFO of rows: written rows leave from the head without copying the rest each time. */
export class RowBuffer<T> {
  rows: T[] = [];
  head = 0;

  get size(): number {
    return this.rows.length - this.head;
  }

  /** Appends a row; returns the rows now buffered. */
  push(row: T): number {
    this.rows.push(row);
    return this.rows.length - this.head;
  }

  drop(n: number): void {
    this.head += n;
    if (this.head >= this.rows.length) {
      this.rows = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.rows.length) {
      this.rows = this.rows.slice(this.head); // amortised: at most once per half of the buffer
      this.head = 0;
    }
  }
}

/**
 * Discovered peers, one array per field (a collector may report a million peers at once: half the
 * memory of an object per row), written from the head like RowBuffer.
 */
export class DiscoveryBuffer {
  torrentId: number[] = [];
  ip: string[] = [];
  port: number[] = [];
  source: PeerSource[] = [];
  at: number[] = [];
  head = 0;

  get size(): number {
    return this.ip.length - this.head;
  }

  push(torrentId: number, ip: string, port: number, source: PeerSource, at: number): number {
    this.torrentId.push(torrentId);
    this.ip.push(ip);
    this.port.push(port);
    this.source.push(source);
    this.at.push(at);
    return this.ip.length - this.head;
  }

  drop(n: number): void {
    this.head += n;
    if (this.head >= this.ip.length) {
      this.torrentId = [];
      this.ip = [];
      this.port = [];
      this.source = [];
      this.at = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.ip.length) {
      const h = this.head;
      this.torrentId = this.torrentId.slice(h);
      this.ip = this.ip.slice(h);
      this.port = this.port.slice(h);
      this.source = this.source.slice(h);
      this.at = this.at.slice(h);
      this.head = 0;
    }
  }
}

export function dropFirst<T>(rows: T[], n: number): T[] {
  if (n === 0) return rows;
  return n >= rows.length ? [] : rows.slice(n);
}

/**
 * isoTime with the text up to the second cached: contacts end in bursts, so consecutive times share
 * their second and only the milliseconds change. Same text as Date.prototype.toISOString, which
 * it falls back to outside years 1970..9999 and for non-integer or non-finite times.
 */
export class IsoClock {
  private second = NaN;
  private prefix = '';

  format(ms: number): string {
    if (!(ms >= 0 && ms < 253402300800000) || !Number.isInteger(ms)) return isoTime(ms);
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      this.prefix = isoTime(second * 1000).slice(0, 20); // 'YYYY-MM-DDTHH:mm:ss.'
      this.second = second;
    }
    const milli = ms - second * 1000;
    return this.prefix + (milli < 10 ? '00' : milli < 100 ? '0' : '') + milli + 'Z';
  }

  formatOrNull(ms: number | null | undefined): string | null {
    return ms === null || ms === undefined ? null : this.format(ms);
  }
}

