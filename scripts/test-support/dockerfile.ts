import { readFileSync } from "node:fs";
import { DockerfileParser } from "dockerfile-ast";

export interface Instruction {
  keyword: string;
  /** The words after the keyword, flags excluded, continuation lines joined. */
  args: string[];
  /** The text after the keyword (flags included), as written. */
  content: string;
  /** `--from=build` → `{ from: "build" }`. */
  flags: Record<string, string | undefined>;
}

export interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
  /** `ENV` of this stage, in order. */
  env: Record<string, string>;
}

export interface ParsedDockerfile {
  text: string;
  stages: Stage[];
}

/** A Dockerfile split into its stages, each with its instructions and `ENV` values. */
export function readDockerfile(path: string): ParsedDockerfile {
  const text = readFileSync(path, "utf8");
  const stages: Stage[] = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    const keyword = instruction.getKeyword();
    const flagged = instruction as unknown as {
      getFlags?: () => { getName(): string; getValue(): string | null }[];
    };
    const parsed: Instruction = {
      keyword,
      args: instruction.getArguments().map((arg) => arg.getValue()),
      content: instruction.getArgumentsContent() ?? "",
      flags: Object.fromEntries(
        (flagged.getFlags?.() ?? []).map((flag) => [flag.getName(), flag.getValue() ?? undefined]),
      ),
    };
    if (keyword === "FROM") {
      const [image = "", as, name] = parsed.args;
      stages.push({
        image,
        name: as?.toUpperCase() === "AS" ? name : undefined,
        instructions: [],
        env: {},
      });
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`${path}: ${keyword} before the first FROM`);
    stage.instructions.push(parsed);
    if (keyword === "ENV") {
      for (const pair of parsed.args) {
        const [key = "", ...value] = pair.split("=");
        stage.env[key] = value.join("=");
      }
    }
  }
  return { text, stages };
}

/** The instructions of a stage with this keyword. */
export function instructionsOf(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword);
}

/** An exec-form `CMD ["node", "main.js"]` (or a HEALTHCHECK's `CMD [...]`) as its argument list. */
export function execForm(content: string): string[] {
  const json = content.replace(/^CMD\s+/, "");
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed) || !parsed.every((arg) => typeof arg === "string")) {
    throw new Error(`not an exec-form command: ${content}`);
  }
  return parsed;
}
