/**
 * Runs a command's argument parser on its arguments, without the `--` a package manager may leave
 * when forwarding them; a parse error ends the command with its usage (exit code 2).
 */
export function parseOrExit<T>(usage: string, parse: (args: string[]) => T): T {
  try {
    return parse(process.argv.slice(2).filter((arg) => arg !== "--"));
  } catch (error) {
    console.error(`${(error as Error).message}\nusage: ${usage}`);
    process.exit(2);
  }
}
