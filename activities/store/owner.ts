import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { StoreOwner } from '../../common/contracts/index.js';

const ID = /^[0-9a-f]{12}$/;

/**
 * The identity of a data dir: a random id kept in `<home>/store-id`, made on first use. Every worker
 * process started on the same data dir has it, so a restarted owner serves its queue again; a worker
 * on another host (another data dir) has its own, and never serves another store's steps.
 */
export function storeOwner(home: string): StoreOwner {
  const file = join(home, 'store-id');
  if (!existsSync(file)) {
    mkdirSync(home, { recursive: true });
    try {
      // Exclusive create: of two processes starting on one new data dir, one id wins and both read it.
      writeFileSync(file, `${randomBytes(6).toString('hex')}\n`, { flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  const id = readFileSync(file, 'utf8').trim();
  if (!ID.test(id)) throw new Error(`${file} does not hold a store id (12 hex digits): remove it and restart the worker to make a new one`);
  return { id, host: hostname(), home: resolve(home) };
}
