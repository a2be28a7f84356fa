// Ends a command with an exit code after its output was printed (main() returns the code).
export class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
