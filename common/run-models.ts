import type { RunConfig } from './config.js';

/** Who played what in a run, as the report names them (zod-free: workflow code imports it). */
export function runModels(c: RunConfig): { attacker: string; defender: string; judge: string; student: string; backend: string } {
  return {
    attacker: c.models.a.model,
    defender: c.models.b.model,
    judge: c.models.judge.model,
    student: c.finetune?.baseModel ?? '(none)',
    backend: c.finetune?.backend ?? '(none)',
  };
}
