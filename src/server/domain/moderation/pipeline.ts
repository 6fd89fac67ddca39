import path from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../../adapters/clock';
import type { MediaClassifier } from '../../adapters/moderation/moderation';
import type { ObjectStore } from '../../adapters/storage';
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import type { JobQueue } from '../../jobs/queue';
import { createModerationGate, type ModerationGate } from './gate';
import { createListsService, type ListsService } from './lists.service';
import { createQuarantine, type Quarantine } from './quarantine';
import { createScreener, type Screener } from './screen';

/** The screening side of moderation, built once per process (context.ts). */
export interface ScreeningServices {
  screener: Screener;
  gate: ModerationGate;
  /** for the core's decisions: allow releases, remove deletes */
  quarantine: Quarantine;
  lists: ListsService;
  /**
   * Wires the core's automatic CSAM escalation (moderation.service `escalateAutomatically`), which
   * is built after this; until then a CSAM hash match waits in the queue (logged).
   */
  setEscalation(escalate: (caseId: string, note: string) => Promise<void>): void;
  /** stops the image model's worker thread */
  close(): Promise<void>;
}

export function createScreeningServices(deps: {
  database: Database;
  store: ObjectStore;
  queue: JobQueue;
  config: Config;
  clock: Clock;
  logger: Logger;
  mediaClassifiers?: MediaClassifier[];
}): ScreeningServices {
  const { database, store, queue, config, clock, logger } = deps;
  const screener = createScreener({ database, config, logger, ...(deps.mediaClassifiers ? { mediaClassifiers: deps.mediaClassifiers } : {}) });
  let escalation: ((caseId: string, note: string) => Promise<void>) | undefined;
  const gate = createModerationGate({
    database,
    store,
    screener,
    logger,
    clock,
    workDir: path.join(config.dataDir, 'tmp'),
    escalate: async (caseId, note) => {
      if (!escalation) throw new Error('no CSAM escalation is wired');
      await escalation(caseId, note);
    },
  });
  return {
    screener,
    gate,
    quarantine: createQuarantine({ database, store, queue, logger, clock }),
    lists: createListsService({ database, screener, clock }),
    setEscalation(escalate) {
      escalation = escalate;
    },
    close: () => screener.close(),
  };
}
