import { describe, expect, it } from 'vitest';
import { creditBalances, generations } from './schema';
import { rowMapper } from './rows';

describe('rowMapper', () => {
  it('decodes driver values of either driver with the schema’s own column mappings', () => {
    const row = rowMapper(generations)({
      id: 'gen_1',
      user_id: 'u1',
      references: '[{"kind":"image"}]',
      output_size_bytes: '1234',
      created_at: '2026-12-07T01:02:03.456789+00:00',
      started_at: new Date('2026-12-07T00:00:00Z'),
      finished_at: null,
      unrelated_aggregate: 5,
    });
    expect(row.id).toBe('gen_1');
    expect(row.userId).toBe('u1');
    expect(row.references).toEqual([{ kind: 'image' }]);
    expect(row.outputSizeBytes).toBe(1234);
    expect(row.createdAt).toEqual(new Date('2026-12-07T01:02:03.456Z'));
    expect(row.startedAt).toEqual(new Date('2026-12-07T00:00:00Z'));
    expect(row.finishedAt).toBeNull();
    expect(row).not.toHaveProperty('unrelated_aggregate');
  });

  it('leaves columns the query did not select undefined', () => {
    const row = rowMapper(creditBalances)({ user_id: 'u1', balance: 7 });
    expect(row.balance).toBe(7);
    expect(row.held).toBeUndefined();
  });
});
