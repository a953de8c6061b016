import type { PlopTypes } from "@turbo/gen";
import {
  checkAudience,
  checkServiceName,
  generateService,
  nextSteps,
  planService,
  type ServicePlan,
  TENANT_FILE,
} from "./service-generator.js";

interface ServiceAnswers {
  name: string;
  audience: string;
}

// `pnpm gen service` (or `pnpm turbo gen service`): a new protected tRPC service in apps/.
export default function generator(plop: PlopTypes.NodePlopAPI): void {
  const root = plop.getDestBasePath();

  // The generator lists each action as "<what it returned> (<its type>)": a type of our own reads
  // as a word after the files it wrote.
  plop.setActionType("written", (answers) => {
    const { plan } = answers as { plan: ServicePlan };
    const service = generateService(root, plan);
    return `apps/${service.name} and ${TENANT_FILE}`;
  });

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
    // Plain strings are printed as they come, after the action before them: the plan is settled
    // first so that they can name the port and the client the action is about to write.
    actions: (answers) => {
      const { name, audience } = answers as ServiceAnswers;
      const plan = planService(root, { name: name.trim(), audience: audience.trim() });
      return [
        { type: "written", data: { plan } },
        `apps/${plan.name}: generated from apps/api, audience ${plan.audience}, port ${plan.port}`,
        `dev tenant: scopes ${plan.scopes.read}, ${plan.scopes.write}; client ${plan.client.clientId} / ${plan.client.clientSecret} (development only)`,
        "",
        "Next:",
        ...nextSteps(plan).map((step) => `  ${step}`),
        "",
      ];
    },
  });
}
