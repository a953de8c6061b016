/**
 * Runs a command's argument parser on its arguments, without the `--` a package manager may leave
 * when forwarding them. `--help` prints the usage; a parse error ends the command with its usage
 * (exit code 2).
 */
export function parseOrExit<T>(usage: string, parse: (args: string[]) => T): T {
  const args = process.argv.slice(2).filter((arg) => arg !== "--");
  if (args.includes("--help") || args.includes("-h")) {
    console.info(`usage: ${usage}`);
    process.exit(0);
  }
  try {
    return parse(args);
  } catch (error) {
    console.error(`${(error as Error).message}\nusage: ${usage}`);
    process.exit(2);
  }
}
