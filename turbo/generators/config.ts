import type { PlopTypes } from "@turbo/gen";
import { checkAudience, checkServiceName, generateService } from "./service-generator.js";

interface ServiceAnswers {
  name: string;
  audience: string;
}

// `pnpm gen service` (or `pnpm turbo gen service`): a new protected tRPC service in apps/.
export default function generator(plop: PlopTypes.NodePlopAPI): void {
  const root = plop.getDestBasePath();

  plop.setGenerator("service", {
    description: "A tRPC service protected with @repo/auth, generated from apps/api",
    prompts: [
      {
        type: "input",
        name: "name",
        message: "Service name (apps/<name>, @repo/<name>):",
        validate: (value: string) => checkServiceName(root, value.trim()) ?? true,
      },
      {
        type: "input",
        name: "audience",
        message: "Audience (the API identifier its tokens must carry):",
        default: (answers: ServiceAnswers) => `https://${answers.name.trim()}.example.local`,
        validate: (value: string) => checkAudience(root, value.trim()) ?? true,
      },
    ],
    actions: [
      (answers) => {
        const { name, audience } = answers as ServiceAnswers;
        const service = generateService(root, { name: name.trim(), audience: audience.trim() });
        return [
          `apps/${name} (${service.files.length - 1} files) and the dev tenant entries`,
          `  API ${audience}: scopes ${service.scopes.read}, ${service.scopes.write}`,
          `  client ${service.client.clientId} / ${service.client.clientSecret} (development only)`,
          "Next:",
          "  pnpm install",
          `  pnpm --filter ${service.packageName} test`,
          `  pnpm --filter ${service.packageName} dev   # http://127.0.0.1:${service.port}/trpc`,
          `  pnpm -s token --client ${service.client.clientId} --audience ${audience}`,
        ].join("\n");
      },
    ],
  });
}
