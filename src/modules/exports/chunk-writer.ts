import type { Executor } from '../../db/client.js';
import { insertChunk } from './exports.repository.js';

/** Bytes per stored chunk: large enough for few rows, small enough to hold in memory. */
export const CHUNK_BYTES = 1024 * 1024;

/**
 * Collects an export's text and stores it as `export_chunks` rows of about `CHUNK_BYTES`
 * each, so memory holds at most one chunk (and the page being written) whatever the size.
 */
export class ChunkWriter {
  #parts: Buffer[] = [];
  #buffered = 0;
  #seq = 0;
  #size = 0;

  constructor(
    private readonly db: Executor,
    private readonly fileId: string,
  ) {}

  async write(text: string): Promise<void> {
    const bytes = Buffer.from(text, 'utf8');
    this.#parts.push(bytes);
    this.#buffered += bytes.length;
    if (this.#buffered >= CHUNK_BYTES) await this.#flush();
  }

  /** Stores what is left; returns the file's size and number of chunks. */
  async end(): Promise<{ size: number; chunkCount: number }> {
    if (this.#buffered > 0 || this.#seq === 0) await this.#flush();
    return { size: this.#size, chunkCount: this.#seq };
  }

  async #flush(): Promise<void> {
    const data = Buffer.concat(this.#parts, this.#buffered);
    this.#parts = [];
    this.#buffered = 0;
    await insertChunk(this.db, this.fileId, this.#seq, data);
    this.#seq += 1;
    this.#size += data.length;
  }
}
