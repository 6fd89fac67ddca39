import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  assertKey,
  assertListOptions,
  assertPrefix,
  assertPutOptions,
  assertRange,
  dispositionFor,
  ObjectNotFound,
  ObjectStoreError,
  RangeNotSatisfiable,
  resolveRange,
  signedUrlLifetime,
  type ByteRange,
  type GetResult,
  type ListPage,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type PutResult,
  type SignedUrlOptions,
} from './store';

/**
 * S3-compatible object storage (AWS S3, Cloudflare R2, MinIO, ...) over @aws-sdk/client-s3.
 *
 * Uploads stream: the body is cut into parts of `partSize` bytes (8 MiB by default) held in one
 * reused buffer, so a put holds at most one part in memory whatever the object's size (and a small
 * body only as much as it needs). Parts go up one at a time; the source is paused meanwhile. A body that
 * fits in one part is sent with one PutObject (and its sha256 is stored as `x-amz-meta-sha256`);
 * a longer one becomes a multipart upload (aborted if anything fails). Every request body carries
 * Content-MD5, so the store rejects corrupted parts.
 *
 * Signed URLs are S3 presigned GETs (SigV4, at most 7 days) with response-content-disposition /
 * response-content-type overrides; the browser downloads from the bucket directly.
 */

export interface S3StoreOptions {
  /** e.g. https://<account>.r2.cloudflarestorage.com or http://localhost:9000; unset for AWS */
  endpoint?: string;
  /** `auto` for R2, `us-east-1` etc. for AWS */
  region: string;
  bucket: string;
  /** both unset: the SDK's default credential chain (environment, instance role, ...) */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** path-style URLs (`endpoint/bucket/key`): MinIO and most self-hosted stores need it */
  forcePathStyle?: boolean;
  /**
   * The endpoint browsers use, when it differs from `endpoint` (e.g. `endpoint` is an internal
   * docker host name). Presigned URLs are signed for this host; the store is never called there.
   */
  publicUrl?: string;
  /** multipart part size in bytes, 5 MiB..512 MiB (default 8 MiB) */
  partSize?: number;
  /** clock in milliseconds: presigned URLs are dated (and so expire) by it (default Date.now) */
  now?: () => number;
}

export interface S3ObjectStore extends ObjectStore {
  readonly kind: 's3';
  readonly bucket: string;
  readonly client: S3Client;
}

const MiB = 1024 * 1024;
const MAX_PARTS = 10_000;

export function createS3Store(options: S3StoreOptions): S3ObjectStore {
  const partSize = options.partSize ?? 8 * MiB;
  if (!Number.isInteger(partSize) || partSize < 5 * MiB || partSize > 512 * MiB) throw new Error('partSize must be from 5 MiB to 512 MiB');
  if (Boolean(options.accessKeyId) !== Boolean(options.secretAccessKey)) throw new Error('set both accessKeyId and secretAccessKey, or neither');
  const { bucket } = options;
  const now = options.now ?? Date.now;

  const clientConfig = (endpoint: string | undefined): S3ClientConfig => ({
    region: options.region,
    ...(endpoint ? { endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? false,
    ...(options.accessKeyId && options.secretAccessKey ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } } : {}),
    // S3-compatible stores vary in their support of the SDK's newer default checksums; we send
    // Content-MD5 on every body ourselves and verify sha256 at our layer.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const client = new S3Client(clientConfig(options.endpoint));
  useContentMd5ForDeleteObjects(client);
  const signer = options.publicUrl ? new S3Client(clientConfig(options.publicUrl.replace(/\/+$/, ''))) : client;

  async function putSingle(key: string, data: Buffer, putOptions: PutOptions, sha256: string): Promise<string> {
    const res = await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: data,
        ContentLength: data.length,
        ContentType: putOptions.contentType,
        ContentMD5: md5(data),
        ...(putOptions.cacheControl ? { CacheControl: putOptions.cacheControl } : {}),
        Metadata: { sha256 },
      }),
    );
    return unquote(res.ETag);
  }

  async function headObject(key: string): Promise<ObjectInfo> {
    try {
      const res = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        key,
        size: res.ContentLength ?? 0,
        contentType: res.ContentType ?? 'application/octet-stream',
        etag: unquote(res.ETag),
        lastModified: res.LastModified ?? new Date(0),
        ...(res.Metadata?.sha256 ? { sha256: res.Metadata.sha256 } : {}),
        ...(res.CacheControl ? { cacheControl: res.CacheControl } : {}),
      };
    } catch (err) {
      if (isStatus(err, 404)) throw new ObjectNotFound(key, { cause: err });
      throw failure(`Cannot read ${key}`, err);
    }
  }

  async function getObject(key: string, range: { start: number; end?: number } | undefined, ifMatch?: string): Promise<GetResult> {
    let res;
    try {
      res = await client.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.end ?? ''}` } : {}),
          ...(ifMatch ? { IfMatch: `"${ifMatch}"` } : {}),
        }),
      );
    } catch (err) {
      if (isStatus(err, 404)) throw new ObjectNotFound(key, { cause: err });
      if (isStatus(err, 416)) {
        const size = (await headObject(key)).size;
        throw new RangeNotSatisfiable(key, size);
      }
      if (ifMatch && isStatus(err, 412)) throw new ObjectChanged(key, err);
      throw failure(`Cannot read ${key}`, err);
    }
    let body = (res.Body as Readable | undefined) ?? Readable.from([]);
    let size = res.ContentLength ?? 0;
    let served: { start: number; end: number } | undefined;
    if (range) {
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.ContentRange ?? '');
      if (m) {
        size = Number(m[3]);
        served = { start: Number(m[1]), end: Number(m[2]) };
      } else {
        // the store ignored the range and sent the whole object
        served = { start: 0, end: size - 1 };
      }
      const wanted = { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
      if (wanted.start >= size) {
        body.destroy();
        throw new RangeNotSatisfiable(key, size);
      }
      if (served.start > wanted.start || served.end < wanted.end) {
        body.destroy();
        throw new ObjectStoreError('storage_failure', `The store answered bytes ${served.start}-${served.end} of ${key} for ${wanted.start}-${wanted.end}.`);
      }
      // some stores answer more than asked (e.g. the whole object): cut it to size
      if (served.start !== wanted.start || served.end !== wanted.end) body = slice(body, wanted.start - served.start, wanted.end - wanted.start + 1);
      served = wanted;
    }
    return {
      key,
      size,
      contentType: res.ContentType ?? 'application/octet-stream',
      etag: unquote(res.ETag),
      lastModified: res.LastModified ?? new Date(0),
      ...(res.Metadata?.sha256 ? { sha256: res.Metadata.sha256 } : {}),
      ...(res.CacheControl ? { cacheControl: res.CacheControl } : {}),
      body,
      ...(served ? { range: served } : {}),
    };
  }

  const store: S3ObjectStore = {
    kind: 's3',
    bucket,
    client,

    async put(key: string, body: Readable | Buffer, putOptions: PutOptions): Promise<PutResult> {
      assertKey(key);
      assertPutOptions(putOptions);
      const expected = putOptions.contentLength;
      if (Buffer.isBuffer(body)) {
        if (expected !== undefined && expected !== body.length) throw sizeMismatch(key, expected, body.length);
        if (body.length <= partSize) {
          const sha256 = createHash('sha256').update(body).digest('hex');
          const etag = await putSingle(key, body, putOptions, sha256).catch((err: unknown) => {
            throw failure(`Cannot store ${key}`, err);
          });
          return { key, size: body.length, etag, sha256 };
        }
        body = Readable.from(chunksOf(body, partSize));
      }
      const stream = body;

      const hash = createHash('sha256');
      let size = 0;
      // a small body needs a small buffer: start at 256 KiB (or the declared length), then one part
      let part = Buffer.allocUnsafe(Math.min(partSize, expected !== undefined ? Math.max(expected, 1) : 256 * 1024));
      let filled = 0;
      let uploadId: string | undefined;
      const parts: CompletedPart[] = [];

      const flush = async () => {
        if (parts.length >= MAX_PARTS) throw new ObjectStoreError('invalid_argument', `${key} is too large for ${MAX_PARTS} parts of ${partSize} bytes.`);
        if (!uploadId) {
          const created = await client.send(
            new CreateMultipartUploadCommand({
              Bucket: bucket,
              Key: key,
              ContentType: putOptions.contentType,
              ...(putOptions.cacheControl ? { CacheControl: putOptions.cacheControl } : {}),
            }),
          );
          if (!created.UploadId) throw new ObjectStoreError('storage_failure', 'The store returned no upload id.');
          uploadId = created.UploadId;
        }
        const data = part.subarray(0, filled);
        const partNumber = parts.length + 1;
        const res = await client.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: data,
            ContentLength: data.length,
            ContentMD5: md5(data),
          }),
        );
        parts.push({ PartNumber: partNumber, ETag: res.ETag });
        filled = 0;
      };

      try {
        for await (const raw of stream) {
          const chunk: Buffer = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as Uint8Array);
          size += chunk.length;
          if (expected !== undefined && size > expected) throw sizeMismatch(key, expected, size);
          hash.update(chunk);
          let offset = 0;
          while (offset < chunk.length) {
            if (filled === part.length) {
              const bigger = Buffer.allocUnsafe(partSize);
              part.copy(bigger, 0, 0, filled);
              part = bigger;
            }
            const n = chunk.copy(part, filled, offset);
            filled += n;
            offset += n;
            if (filled === partSize) await flush();
          }
        }
        if (expected !== undefined && size !== expected) throw sizeMismatch(key, expected, size);
        const sha256 = hash.digest('hex');
        if (!uploadId) {
          const etag = await putSingle(key, part.subarray(0, filled), putOptions, sha256);
          return { key, size, etag, sha256 };
        }
        if (filled > 0) await flush();
        const done = await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
        return { key, size, etag: unquote(done.ETag), sha256 };
      } catch (err) {
        if (!stream.destroyed) stream.destroy();
        if (uploadId) {
          await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
        }
        throw err instanceof ObjectStoreError ? err : failure(`Cannot store ${key}`, err);
      }
    },

    async get(key: string, getOptions: { range?: ByteRange } = {}): Promise<GetResult> {
      assertKey(key);
      const range = getOptions.range;
      if (!range) return getObject(key, undefined);
      assertRange(range);
      if (!('suffix' in range)) return getObject(key, range);
      // suffix ranges: resolve against the size (not every S3-compatible store supports `bytes=-n`),
      // guarded by the ETag so a concurrent overwrite cannot mix two versions
      for (let attempt = 0; ; attempt++) {
        const info = await headObject(key);
        const resolved = resolveRange(key, range, info.size);
        try {
          return await getObject(key, resolved, info.etag);
        } catch (err) {
          if (err instanceof ObjectChanged && attempt < 2) continue;
          throw err;
        }
      }
    },

    async head(key: string): Promise<ObjectInfo> {
      assertKey(key);
      return headObject(key);
    },

    async delete(key: string): Promise<void> {
      assertKey(key);
      try {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      } catch (err) {
        if (isStatus(err, 404)) return;
        throw failure(`Cannot delete ${key}`, err);
      }
    },

    async deleteMany(keys: readonly string[]): Promise<void> {
      keys.forEach((k) => assertKey(k));
      const unique = [...new Set(keys)];
      for (let i = 0; i < unique.length; i += 1000) {
        const batch = unique.slice(i, i + 1000);
        let res;
        try {
          res = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
        } catch (err) {
          throw failure(`Cannot delete ${batch.length} objects`, err);
        }
        const errors = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
        const [first] = errors;
        if (first !== undefined) {
          throw new ObjectStoreError(
            'storage_failure',
            `Cannot delete ${errors.length} objects (first: ${String(first.Key)}: ${String(first.Code)} ${first.Message ?? ''}).`,
          );
        }
      }
    },

    async list(prefix: string, listOptions: { cursor?: string; limit: number }): Promise<ListPage> {
      assertPrefix(prefix);
      assertListOptions(listOptions);
      try {
        const res = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            ...(prefix ? { Prefix: prefix } : {}),
            MaxKeys: listOptions.limit,
            ...(listOptions.cursor ? { ContinuationToken: listOptions.cursor } : {}),
          }),
        );
        const items = (res.Contents ?? []).map((o) => ({
          key: o.Key ?? '',
          size: o.Size ?? 0,
          etag: unquote(o.ETag),
          lastModified: o.LastModified ?? new Date(0),
        }));
        return { items, ...(res.IsTruncated && res.NextContinuationToken ? { cursor: res.NextContinuationToken } : {}) };
      } catch (err) {
        throw failure(`Cannot list ${prefix || 'the bucket'}`, err);
      }
    },

    async signedUrl(key: string, urlOptions?: SignedUrlOptions): Promise<string> {
      assertKey(key);
      const expiresIn = signedUrlLifetime(urlOptions);
      const disposition = dispositionFor(urlOptions);
      const command = new GetObjectCommand({
        Bucket: bucket,
        Key: key,
        ...(disposition ? { ResponseContentDisposition: disposition } : {}),
        ...(urlOptions?.contentType ? { ResponseContentType: urlOptions.contentType } : {}),
      });
      return getSignedUrl(signer, command, { expiresIn, signingDate: new Date(now()) });
    },

    async close(): Promise<void> {
      client.destroy();
      if (signer !== client) signer.destroy();
    },
  };
  return store;
}

// ---------------------------------------------------------------------------------------------

/**
 * DeleteObjects must carry an integrity header. The SDK now sends CRC32, which several
 * S3-compatible stores (older MinIO, Ceph, ...) refuse with MissingContentMD5: send Content-MD5
 * instead, as the SDK's own MD5_FALLBACK note advises. AWS S3 and R2 accept either.
 */
function useContentMd5ForDeleteObjects(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = (args as { request?: { headers?: Record<string, string>; body?: unknown } }).request;
      if (
        context.commandName === 'DeleteObjectsCommand' &&
        request?.headers &&
        (typeof request.body === 'string' || Buffer.isBuffer(request.body) || request.body instanceof Uint8Array)
      ) {
        const isChecksum = (lower: string) => lower.startsWith('x-amz-checksum-') || lower.startsWith('x-amz-sdk-checksum-') || lower === 'content-md5';
        request.headers = {
          ...Object.fromEntries(Object.entries(request.headers).filter(([name]) => !isChecksum(name.toLowerCase()))),
          'content-md5': createHash('md5').update(request.body).digest('base64'),
        };
      }
      return next(args);
    },
    { step: 'build', priority: 'low', name: 'saveSoraDeleteObjectsContentMd5' },
  );
}

const md5 = (data: Buffer) => createHash('md5').update(data).digest('base64');
const unquote = (etag: string | undefined) => (etag ?? '').replace(/^W\//, '').replace(/^"|"$/g, '');

function isStatus(err: unknown, status: number): boolean {
  const e = err as { $metadata?: { httpStatusCode?: number }; name?: string } | undefined;
  if (e?.$metadata?.httpStatusCode === status) return true;
  if (status === 404) return e?.name === 'NoSuchKey' || e?.name === 'NotFound';
  if (status === 416) return e?.name === 'InvalidRange';
  if (status === 412) return e?.name === 'PreconditionFailed';
  return false;
}

/** the object was replaced between a HEAD and a guarded GET */
class ObjectChanged extends ObjectStoreError {
  constructor(key: string, cause: unknown) {
    super('storage_failure', `${key} changed while it was being read.`, { cause });
  }
}

function failure(what: string, err: unknown): ObjectStoreError {
  const e = err as { name?: string; message?: string } | null | undefined;
  return new ObjectStoreError('storage_failure', `${what}: ${e?.name ?? 'Error'} ${e?.message ?? ''}`.trim(), { cause: err });
}

function sizeMismatch(key: string, expected: number, got: number) {
  return new ObjectStoreError('size_mismatch', `The body for ${key} is ${got > expected ? 'longer' : 'shorter'} than its declared ${expected} bytes.`);
}

function* chunksOf(data: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

/** `length` bytes of `source` starting at `skip` */
function slice(source: Readable, skip: number, length: number): Readable {
  let seen = 0;
  let ended = false;
  const out = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (ended) {
        done();
        return;
      }
      const from = Math.max(0, skip - seen);
      const to = Math.min(chunk.length, skip + length - seen);
      seen += chunk.length;
      if (to > from) this.push(chunk.subarray(from, to));
      if (seen >= skip + length) {
        ended = true;
        this.push(null);
        source.destroy();
      }
      done();
    },
  });
  source.on('error', (err) => out.destroy(err));
  return source.pipe(out);
}
