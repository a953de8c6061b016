import * as auth from "../../src/index.js";
import { runConformance } from "./conformance-suite.js";
import { describeConformance } from "./describe-conformance.js";

// In this process, through the entry Node resolves: node:crypto.
describeConformance("Node", (host) => runConformance(auth, host.plan));
