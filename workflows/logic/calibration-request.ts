import type { DomainConfig, RunConfig } from '../../common/config.js';

/**
 * What the Judge's calibration of one domain asks for: the same Judge, prompts and tools as the
 * game. One builder for the run's calibration step (workflows/calibration.ts) and `nanoflux
 * calibrate` (scripts/lib/calibrate.ts), so both land on the same cache entry.
 */
export function calibrationRequest(config: RunConfig, d: DomainConfig, items: number, minAgreement: number) {
  return {
    domain: { name: d.name, brief: d.brief, pack: d.pack, promptVersion: config.generation.promptVersion, benchmark: d.evaluation?.benchmark ?? d.benchmark },
    model: config.models.judge,
    maxSchemaRetries: config.generation.maxSchemaRetries,
    tools: { maxToolRounds: config.judge.maxToolRounds, mcpServers: config.judge.mcpServers },
    items,
    minAgreement,
  };
}
