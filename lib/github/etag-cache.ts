import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../paths.js';

interface Entry {
  etag: string;
  body: unknown;
  /** The page after this one, from its Link header (a 304 need not repeat it). */
  next?: string;
}

/**
 * GitHub answers a conditional request whose ETag still matches with 304, which costs no rate
 * limit. The cache keeps each URL's ETag and body on disk between runs (cron), keyed by URL.
 */
export class EtagCache {
  private entries: Record<string, Entry>;
  private dirty = false;

  constructor(private readonly file: string | undefined) {
    this.entries = file && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, Entry>) : {};
  }

  get(url: string): Entry | undefined {
    return this.entries[url];
  }

  set(url: string, entry: Entry): void {
    this.entries[url] = entry;
    this.dirty = true;
  }

  save(): void {
    if (!this.file || !this.dirty) return;
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    writeFileAtomic(this.file, JSON.stringify(this.entries));
    this.dirty = false;
  }
}
