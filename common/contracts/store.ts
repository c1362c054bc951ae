/** The worker that owns a data dir (its embedded store, ledger and runs/): where a run's store steps go. */
export interface StoreOwner {
  /** Random, kept in `<home>/store-id`: names the owner's task queue (common/queues.ts storeQueue). */
  id: string;
  /** For people: where that data dir is. */
  host: string;
  home: string;
}
