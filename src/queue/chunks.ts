// The queue's per-peer fields live in typed arrays split into fixed chunks: growing adds a chunk and
// copies nothing, so a queue of millions never stalls the event loop on a resize.

/** Slots per chunk: slot >>> CHUNK_BITS is the chunk, slot & CHUNK_MASK the index in it. */
export const CHUNK_BITS = 16;
export const CHUNK_SIZE = 1 << CHUNK_BITS;
export const CHUNK_MASK = CHUNK_SIZE - 1;
