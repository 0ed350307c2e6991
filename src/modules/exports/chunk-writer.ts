import type { Executor } from '../../db/client.js';
import { insertChunk } from './exports.repository.js';

/**
 * Bytes per stored chunk. The driver sends bytea as a hex string of twice the size; kept under
 * V8's 128 KiB large-object limit, that string dies young instead of waiting for a full
 * collection, which keeps the worker's memory flat during a large export.
 */
export const CHUNK_BYTES = 48 * 1024;

/**
 * Collects an export's text and stores it as `export_chunks` rows of at most `CHUNK_BYTES`
 * each (a 64 MB export is about 1 400 rows). Text is encoded straight into one buffer that is reused for every chunk, so memory
 * holds a single chunk whatever the file's size and writing makes no garbage of its own.
 */
export class ChunkWriter {
  readonly #buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  #used = 0;
  #seq = 0;
  #size = 0;

  constructor(
    private readonly db: Executor,
    private readonly fileId: string,
  ) {}

  async write(text: string): Promise<void> {
    const length = Buffer.byteLength(text, 'utf8');
    if (this.#used + length > CHUNK_BYTES && this.#used > 0) await this.#flush();
    if (length <= CHUNK_BYTES) {
      this.#used += this.#buffer.write(text, this.#used, 'utf8');
      return;
    }
    // Larger than a chunk: stored in pieces (a chunk may end inside a character; the download
    // joins the bytes again).
    const bytes = Buffer.from(text, 'utf8');
    for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) {
      const piece = bytes.subarray(offset, offset + CHUNK_BYTES);
      this.#used = piece.copy(this.#buffer, 0);
      if (this.#used === CHUNK_BYTES) await this.#flush();
    }
  }

  /** Stores what is left; returns the file's size and number of chunks. */
  async end(): Promise<{ size: number; chunkCount: number }> {
    if (this.#used > 0 || this.#seq === 0) await this.#flush();
    return { size: this.#size, chunkCount: this.#seq };
  }

  async #flush(): Promise<void> {
    // The buffer is reused once the insert has finished with it.
    await insertChunk(this.db, this.fileId, this.#seq, this.#buffer.subarray(0, this.#used));
    this.#seq += 1;
    this.#size += this.#used;
    this.#used = 0;
  }
}
