const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One POSIX shell word that stands for exactly `value`, whatever it contains. */
export function quote(value: string): string {
  if (value !== '' && SAFE.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A command line for a remote shell: each argument quoted once, on our side. */
export function commandLine(argv: readonly string[]): string {
  return argv.map(quote).join(' ');
}
