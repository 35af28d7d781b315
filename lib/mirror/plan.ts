import type { Selected } from './select.js';

/** A repository in Gitea, as its API lists it (only what the plan reads). */
export interface GiteaRepo {
  owner: string;
  name: string;
  mirror: boolean;
  /** Go duration, as Gitea reports it: `8h0m0s`. */
  mirrorInterval: string;
  mirrorUpdated: string;
  originalUrl: string;
  archived: boolean;
}

export type MirrorAction =
  | { kind: 'create-org'; org: string }
  | { kind: 'create'; item: Selected }
  | { kind: 'update'; item: Selected; sync: boolean; interval?: string }
  | { kind: 'unchanged'; item: Selected }
  | { kind: 'conflict'; item: Selected; reason: string }
  | { kind: 'orphan'; mirror: GiteaRepo };

/** `8h0m0s`, `90m`, `1h30m` → minutes. */
export function durationMinutes(go: string): number {
  let minutes = 0;
  for (const [, value, unit] of go.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)) minutes += Number(value) * (unit === 'h' ? 60 : unit === 'm' ? 1 : 1 / 60);
  return minutes;
}

export const goDuration = (minutes: number) => `${Math.floor(minutes / 60)}h${minutes % 60}m0s`;

export const mirrorKey = (owner: string, name: string) => `${owner}/${name}`.toLowerCase();

/**
 * From what should be mirrored and what Gitea has: orgs to create, mirrors to create, mirrors
 * to sync (those GitHub pushed to since Gitea last synced, and those `stale`: not at GitHub's
 * head), intervals to change, and mirrors in those orgs that nothing selects any more (to look
 * up on GitHub: gone or renamed).
 */
export function planMirrors(
  selected: Selected[],
  gitea: { orgs: Set<string>; repos: GiteaRepo[] },
  intervalMinutes: number,
  stale = new Set<string>(),
): MirrorAction[] {
  const actions: MirrorAction[] = [];
  const existing = new Map(gitea.repos.map((r) => [mirrorKey(r.owner, r.name), r]));
  const orgs = [...new Set(selected.map((s) => s.org))];
  for (const org of orgs) if (!gitea.orgs.has(org.toLowerCase())) actions.push({ kind: 'create-org', org });
  const wanted = new Set<string>();
  for (const item of selected) {
    const k = mirrorKey(item.org, item.source.name);
    if (wanted.has(k)) {
      actions.push({ kind: 'conflict', item, reason: `${item.org}/${item.source.name} is already the mirror of another repository` });
      continue;
    }
    wanted.add(k);
    const mirror = existing.get(k);
    if (!mirror) {
      actions.push({ kind: 'create', item });
      continue;
    }
    if (!mirror.mirror) {
      actions.push({ kind: 'conflict', item, reason: `${mirror.owner}/${mirror.name} exists in Gitea and is not a mirror` });
      continue;
    }
    const sync = stale.has(k) || Date.parse(item.source.pushedAt) > Date.parse(mirror.mirrorUpdated);
    const interval = durationMinutes(mirror.mirrorInterval) === intervalMinutes ? undefined : goDuration(intervalMinutes);
    actions.push(sync || interval ? { kind: 'update', item, sync, ...(interval ? { interval } : {}) } : { kind: 'unchanged', item });
  }
  const orgKeys = new Set(orgs.map((o) => o.toLowerCase()));
  for (const mirror of gitea.repos) {
    if (mirror.mirror && orgKeys.has(mirror.owner.toLowerCase()) && !wanted.has(mirrorKey(mirror.owner, mirror.name))) actions.push({ kind: 'orphan', mirror });
  }
  return actions;
}
