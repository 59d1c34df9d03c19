import { readFileSync } from 'node:fs';
import { writeCacheFile } from '../background';

/**
 * A file of values kept between runs under `.dbee/cache` (a project's parses, its smoke checks), by key: read whole
 * when opened, written whole in the background with the values this run used, when one of them is new or when the run
 * did not use all the file held (a source gone or changed). A missing or unreadable file holds nothing, a file that
 * cannot be written only loses the shortcut, and two processes saving at once each write a whole file and rename it:
 * the last wins.
 */
export class KeptPack<T> {
  private readonly used = new Map<string, T>();
  private changed = false;

  private constructor(
    private readonly file: string,
    private readonly kept: ReadonlyMap<string, T>,
  ) {}

  static open<T>(file: string): KeptPack<T> {
    let kept = new Map<string, T>();
    try {
      kept = new Map(Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, T>));
    } catch {
      // Not written yet, or unreadable: nothing is kept.
    }
    return new KeptPack(file, kept);
  }

  /** The value kept for `key`, counted as used (written back as it is unless `put` replaces it); undefined if none. */
  get(key: string): T | undefined {
    const value = this.kept.get(key);
    if (value !== undefined) this.used.set(key, value);
    return value;
  }

  /** `value` for `key`, written back when the pack is saved: `made` in this run (the file changes), or one kept. */
  put(key: string, value: T, made = true): void {
    this.used.set(key, value);
    if (made) this.changed = true;
  }

  /** Write the file when it changed, in the background. */
  save(): void {
    if (!this.changed && this.used.size === this.kept.size) return;
    writeCacheFile(this.file, JSON.stringify(Object.fromEntries(this.used)));
  }
}
