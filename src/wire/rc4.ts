// RC4, the stream cipher of BitTorrent's Message Stream Encryption. Node 20's OpenSSL 3 has no RC4
// (it lives in the legacy provider), so it is written here; contacts read a few kilobytes, so a
// byte loop is fast enough.

const ONE_BYTE = new Uint8Array(1);

export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  constructor(key: Uint8Array) {
    const s = this.s;
    for (let k = 0; k < 256; k++) s[k] = k;
    for (let k = 0, j = 0; k < 256; k++) {
      j = (j + s[k] + key[k % key.length]) & 255;
      const t = s[k];
      s[k] = s[j];
      s[j] = t;
    }
  }

  /** XORs the next keystream bytes into `data`, in place; returns `data`. */
  apply<T extends Uint8Array>(data: T): T {
    const s = this.s;
    let i = this.i;
    let j = this.j;
    for (let k = 0; k < data.length; k++) {
      i = (i + 1) & 255;
      j = (j + s[i]) & 255;
      const t = s[i];
      s[i] = s[j];
      s[j] = t;
      data[k] ^= s[(s[i] + s[j]) & 255];
    }
    this.i = i;
    this.j = j;
    return data;
  }

  /** A cipher at the same point of the same keystream (to decrypt ahead without advancing this one). */
  clone(): Rc4 {
    const c = new Rc4(ONE_BYTE);
    c.s.set(this.s);
    c.i = this.i;
    c.j = this.j;
    return c;
  }

  /** Drops `n` keystream bytes (MSE drops the first 1024). */
  skip(n: number): this {
    this.apply(new Uint8Array(n));
    return this;
  }
}
