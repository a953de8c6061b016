// By path: the global setup is loaded without the workspace's source export condition.

import type { TestProject } from "vitest/node";
import {
  type PrivatePostgres,
  startPrivatePostgres,
} from "../../../tooling/test-utils/src/private-postgres.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** The superuser URL of the private Postgres the `api-postgres` project runs against. */
    postgresUrl: string;
  }
}

let postgres: PrivatePostgres | undefined;

/** Starts one private Postgres cluster for the whole `api-postgres` run, and removes it after. */
export async function setup(project: TestProject) {
  postgres = await startPrivatePostgres();
  project.provide("postgresUrl", postgres.url);
}

export function teardown() {
  postgres?.destroy();
}
