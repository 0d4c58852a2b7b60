// A binary min-heap of announces ordered by due time. One tracker can carry hundreds of thousands of
// torrents: finding the next due one must not scan them all (nor spread them into Math.min, which
// throws past about 120,000 arguments).

export interface Due {
  nextAnnounceAt: number;
}

export class DueHeap<T extends Due> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    let i = items.push(item) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent].nextAnnounceAt <= item.nextAnnounceAt) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = item;
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && items[right].nextAnnounceAt < items[left].nextAnnounceAt ? right : left;
      if (items[child].nextAnnounceAt >= last.nextAnnounceAt) break;
      items[i] = items[child];
      i = child;
    }
    items[i] = last;
    return top;
  }
}
