/**
 * The plans a fresh installation sells. They are seeded into the `plans` table once (a plan an
 * operator changed or removed is never overwritten); operators edit them with `plans:set`.
 *
 * Credits are priced so that one credit is about one US cent: an 8-second Veo 3.1 video (240
 * credits) costs about $2.40, in line with what the upstream charges per second.
 */
export interface PlanSeed {
  id: string;
  name: string;
  kind: 'pack' | 'subscription';
  credits: number;
  interval?: 'month' | 'year';
  rollover?: boolean;
  /** minor units per currency */
  prices: Record<string, number>;
  highlighted?: boolean;
  sort: number;
}

export const builtinPlans: readonly PlanSeed[] = [
  { id: 'starter', name: 'Starter', kind: 'pack', credits: 1_000, prices: { usd: 1_000, eur: 950 }, sort: 10 },
  { id: 'creator', name: 'Creator', kind: 'pack', credits: 5_000, prices: { usd: 4_500, eur: 4_200 }, highlighted: true, sort: 20 },
  { id: 'studio', name: 'Studio', kind: 'pack', credits: 15_000, prices: { usd: 12_000, eur: 11_200 }, sort: 30 },
  {
    id: 'pro-monthly',
    name: 'Pro',
    kind: 'subscription',
    interval: 'month',
    credits: 3_000,
    rollover: false,
    prices: { usd: 2_500, eur: 2_300 },
    highlighted: true,
    sort: 40,
  },
  { id: 'max-monthly', name: 'Max', kind: 'subscription', interval: 'month', credits: 10_000, rollover: true, prices: { usd: 7_500, eur: 7_000 }, sort: 50 },
];

/** The videos the pricing page uses to say what a plan buys ("about N 8 s Veo 3.1 videos"). */
/** A built-in plan as the columns the plans table is seeded with (the rest take their defaults). */
export const seedColumns = (p: PlanSeed) => ({
  id: p.id,
  name: p.name,
  kind: p.kind,
  credits: p.credits,
  interval: p.interval ?? null,
  rollover: p.rollover ?? false,
  prices: p.prices,
  highlighted: p.highlighted ?? false,
  sort: p.sort,
});

export const pricingExamples: readonly { model: string; seconds: number; resolution: string }[] = [
  { model: 'veo-3.1', seconds: 8, resolution: '720p' },
  { model: 'kling-3.0', seconds: 10, resolution: '1080p' },
  { model: 'seedance-2.0', seconds: 10, resolution: '720p' },
];
