import fs from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Stream a file with HTTP Range support (video players seek with Range requests). One range per
 * request; an unsatisfiable range answers 416.
 */
export async function sendFile(req: FastifyRequest, reply: FastifyReply, file: string, contentType: string): Promise<FastifyReply> {
  let size: number;
  try {
    size = (await fs.promises.stat(file)).size;
  } catch {
    return reply.status(404).send({ error: { code: 'not_found', message: 'That file is no longer available.' } });
  }
  reply.header('accept-ranges', 'bytes').header('content-type', contentType);
  const range = req.headers.range;
  const m = range ? /^bytes=(\d*)-(\d*)$/.exec(range) : null;
  if (range && m && (m[1] || m[2])) {
    let start = m[1] ? Number(m[1]) : Math.max(0, size - Number(m[2]));
    let end = m[1] && m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
    if (!m[1]) end = size - 1;
    if (start >= size || start > end) {
      return reply.status(416).header('content-range', `bytes */${size}`).send({ error: { code: 'range_not_satisfiable', message: 'Requested range not satisfiable.' } });
    }
    start = Math.max(0, start);
    return reply
      .status(206)
      .header('content-range', `bytes ${start}-${end}/${size}`)
      .header('content-length', String(end - start + 1))
      .send(fs.createReadStream(file, { start, end }));
  }
  return reply.header('content-length', String(size)).send(fs.createReadStream(file));
}
