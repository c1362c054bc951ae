import type { FineTuneConfig } from '../../common/config.js';
import type { StoreOwner } from '../../common/contracts/index.js';
import type { FineTuneBackend } from './finetune/backend.js';

export interface StageDeps {
  home: string;
  datasetsDir: string;
  fineTuneBackend(config: FineTuneConfig): FineTuneBackend;
  /** This data dir's identity (activities/store/owner.ts): files too large to ship are used only on it. */
  owner?: Pick<StoreOwner, 'id'>;
  /** The queue of this host's train worker (common/queues.ts trainHost), which a fine-tune's result names: its adapter is evaluated there. */
  trainHost?: string;
}
