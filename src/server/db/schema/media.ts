import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, pgTable, real, text, timestamp } from 'drizzle-orm/pg-core';
import { users } from './users';

export const mediaKinds = ['image', 'video', 'audio'] as const;
export const mediaSources = ['upload', 'url'] as const;

/**
 * A reference file a user gave us (uploaded, or fetched from a URL they named), stored in the
 * object store under keys built from ids only. The kind and content type were decided from the
 * bytes, never from the name or the declared type. Deleting sets `deleted_at` (the file becomes
 * unreachable at once and a job removes the objects); the purge job removes the row later.
 */
export const media = pgTable(
  'media',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: mediaKinds }).notNull(),
    source: text('source', { enum: mediaSources }).notNull(),
    /** the file name the user gave (display only, sanitized; never part of a storage key) */
    name: text('name'),
    contentType: text('content_type').notNull(),
    storageKey: text('storage_key').notNull(),
    /** a small JPEG (images, videos) */
    previewKey: text('preview_key'),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    width: integer('width'),
    height: integer('height'),
    durationSeconds: real('duration_seconds'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [
    check('media_kind_check', sql.raw(`kind in (${mediaKinds.map((s) => `'${s}'`).join(', ')})`)),
    check('media_source_check', sql.raw(`source in (${mediaSources.map((s) => `'${s}'`).join(', ')})`)),
    index('media_user_created_idx').on(t.userId, t.createdAt, t.id),
    index('media_deleted_idx')
      .on(t.deletedAt)
      .where(sql`deleted_at is not null`),
  ],
);
