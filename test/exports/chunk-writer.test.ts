import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportChunks, exportFiles, projects, users } from '../../src/db/schema/index.js';
import { newId } from '../../src/lib/ids.js';
import { CHUNK_BYTES, ChunkWriter } from '../../src/modules/exports/chunk-writer.js';
import { createTestServices, type TestServices } from '../helpers/test-services.js';

let t: TestServices;
beforeAll(async () => {
  t = await createTestServices();
});
afterAll(async () => {
  await t.close();
});

async function newFile(): Promise<string> {
  const userId = newId();
  const projectId = newId();
  const fileId = newId();
  await t.db
    .insert(users)
    .values({ id: userId, email: `${userId}@example.com`, passwordHash: 'x' });
  await t.db.insert(projects).values({ id: projectId, name: 'P', createdBy: userId });
  await t.db.insert(exportFiles).values({
    id: fileId,
    userId,
    projectId,
    format: 'json',
    filename: 'f.json',
    contentType: 'application/json',
    expiresAt: new Date(Date.now() + 86_400_000),
  });
  return fileId;
}

async function storedBytes(fileId: string): Promise<Buffer[]> {
  const rows = await t.db
    .select()
    .from(exportChunks)
    .where(eq(exportChunks.fileId, fileId))
    .orderBy(asc(exportChunks.seq));
  return rows.map((row) => Buffer.from(row.data));
}

describe('ChunkWriter', () => {
  it('when text of many sizes and scripts is written, then the chunks join to exactly its UTF-8 bytes, none over the limit', async () => {
    const fileId = await newFile();
    const writer = new ChunkWriter(t.db, fileId);
    const pieces: string[] = [];
    // Multi-byte characters land on every side of the chunk boundaries.
    for (let i = 0; i < 4000; i += 1) pieces.push(`${'ä€😀'.repeat(i % 37)}row ${i}\n`);
    // One write larger than a chunk is split across chunks.
    pieces.push('😀'.repeat(CHUNK_BYTES / 2 + 3));
    pieces.push('tail');
    for (const piece of pieces) await writer.write(piece);
    const { size, chunkCount } = await writer.end();

    const chunks = await storedBytes(fileId);
    const expected = Buffer.from(pieces.join(''), 'utf8');
    expect(chunks).toHaveLength(chunkCount);
    expect(chunkCount).toBeGreaterThan(2);
    expect(chunks.every((chunk) => chunk.length <= CHUNK_BYTES && chunk.length > 0)).toBe(true);
    expect(size).toBe(expected.length);
    expect(Buffer.concat(chunks).equals(expected)).toBe(true);
  });

  it('when nothing is written, then one empty chunk stands for the empty file', async () => {
    const fileId = await newFile();
    const writer = new ChunkWriter(t.db, fileId);
    expect(await writer.end()).toEqual({ size: 0, chunkCount: 1 });
    expect((await storedBytes(fileId)).map((chunk) => chunk.length)).toEqual([0]);
  });
});
