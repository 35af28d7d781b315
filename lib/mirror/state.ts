import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { GiteaRepo } from './plan.js';
import { goDuration } from './plan.js';
import type { Selected } from './select.js';
import { writeFileAtomic } from '../paths.js';

/** How long the record of the last clean run stands in for reading Gitea before a full check. */
export const FULL_CHECK_MS = 24 * 3600_000;

/**
 * What the last clean run left in Gitea: each mirror and the GitHub `pushed_at` it was synced to.
 * While it is fresh, a run asks Gitea nothing about mirrors GitHub has not pushed to since.
 */
export interface MirrorState {
  intervalMinutes: number;
  /** When Gitea itself was last read in full (ms since the epoch). */
  checkedAt: number;
  mirrors: Record<string, { pushedAt: string; source: string; archived?: boolean }>;
}

export function readState(file: string): MirrorState | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as MirrorState;
  } catch {
    return undefined;
  }
}

export function writeState(file: string, state: MirrorState): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileAtomic(file, JSON.stringify(state));
}

export const isFresh = (state: MirrorState | undefined, intervalMinutes: number, now = Date.now()): state is MirrorState =>
  state !== undefined && state.intervalMinutes === intervalMinutes && now - state.checkedAt < FULL_CHECK_MS;

/** Gitea as the state remembers it, in the shape the plan reads: synced up to the recorded push. */
export function stateAsGitea(state: MirrorState, orgs: string[]): { orgs: Set<string>; repos: GiteaRepo[] } {
  return {
    orgs: new Set(orgs.map((o) => o.toLowerCase())),
    repos: Object.entries(state.mirrors).map(([key, m]) => {
      // the owner has no slash: whatever follows the first one is the name
      const slash = key.indexOf('/');
      const [owner, name] = [key.slice(0, slash), key.slice(slash + 1)];
      return {
        owner,
        name,
        mirror: true,
        mirrorInterval: goDuration(state.intervalMinutes),
        mirrorUpdated: m.pushedAt,
        originalUrl: m.source,
        archived: m.archived ?? false,
      };
    }),
  };
}

export function stateAfter(selected: Selected[], kept: GiteaRepo[], intervalMinutes: number, checkedAt: number): MirrorState {
  return {
    intervalMinutes,
    checkedAt,
    mirrors: Object.fromEntries([
      ...kept.map((m) => [`${m.owner}/${m.name}`, { pushedAt: m.mirrorUpdated, source: m.originalUrl, ...(m.archived ? { archived: true } : {}) }]),
      ...selected.map((s) => [`${s.org}/${s.source.name}`, { pushedAt: s.source.pushedAt, source: s.source.cloneUrl }]),
    ]),
  };
}
