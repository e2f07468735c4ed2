// The exit codes every `snap-engine` command uses (README "Exit codes"). Scripts and CI branch on them, so a command
// never invents its own: a usage or config error is 2 everywhere, a run that finished but refused some input is 3.
export const EXIT = {
  /** Done; every input record was used. */
  OK: 0,
  /** Runtime failure: unreachable server, unreadable file, bad input line, a run that produced nothing. */
  FAILED: 1,
  /** Usage or configuration error (the message names the option or config key). */
  USAGE: 2,
  /** Finished, but some input went to the dead letters (late, implausible, corrupt); the output is still written. */
  DEAD_LETTERS: 3,
  /** A replay stopped by SIGINT / SIGTERM after flushing what it had emitted (128 + signal number). */
  SIGINT: 130,
  SIGTERM: 143,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A usage error raised inside a command's action (commander reports its own parse errors): exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode = EXIT.USAGE;
}
