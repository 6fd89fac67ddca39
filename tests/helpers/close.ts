/**
 * Close what a suite opened, in the order given (producers before the receivers they send to). A resource
 * that setup never got to open (a failed `beforeAll`) is skipped, so its failure is the one reported.
 */
export async function closeAll(...resources: ReadonlyArray<{ close(): Promise<unknown> } | undefined>): Promise<void> {
  for (const resource of resources) await resource?.close();
}
