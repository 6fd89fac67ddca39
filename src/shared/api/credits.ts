import { z } from 'zod';
import { safeText } from './text';

export const ledgerKinds = ['grant', 'purchase', 'hold', 'capture', 'release', 'refund', 'clawback', 'adjustment', 'expire'] as const;

export const ledgerEntryView = z.object({
  id: z.string(),
  kind: z.enum(ledgerKinds),
  /** signed change of the spendable balance */
  amount: z.number().int(),
  /** signed change of the held (reserved) credits */
  heldChange: z.number().int(),
  balanceAfter: z.number().int(),
  reason: z.string(),
  /** what caused it, e.g. `generation:<id>`, `order:<id>` */
  reference: z.string().nullable(),
  createdAt: z.string(),
});

export const creditsResponse = z.object({
  /** spendable credits */
  balance: z.number().int(),
  /** reserved by generations in progress */
  held: z.number().int(),
  history: z.object({ items: z.array(ledgerEntryView), nextCursor: z.string().nullable() }),
});
export type CreditsResponse = z.infer<typeof creditsResponse>;

export const creditsQuery = z.object({
  cursor: safeText().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
