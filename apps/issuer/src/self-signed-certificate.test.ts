import { createPublicKey, X509Certificate } from "node:crypto";
import { rm } from "node:fs/promises";
import { afterEach, beforeEach, expect, it } from "vitest";
import { copyOfTestKeys } from "../test/support/keys-dir.js";
import { createSelfSignedCertificate } from "./self-signed-certificate.js";
import { ensureTlsCertificate } from "./tls-certificate.js";

it("builds a certificate that signs itself and names the local hosts", () => {
  const now = new Date("2026-06-01T00:00:00Z");
  const { key, cert } = createSelfSignedCertificate(["127.0.0.1", "::1", "localhost"], { now });
  const certificate = new X509Certificate(cert);
  expect(certificate.verify(createPublicKey(key))).toBe(true);
  expect(certificate.ca).toBe(true);
  expect(certificate.checkIP("127.0.0.1")).toBe("127.0.0.1");
  expect(certificate.checkIP("::1")).toBe("::1");
  expect(certificate.checkHost("localhost")).toBe("localhost");
  expect(certificate.checkHost("example.com")).toBeUndefined();
  expect(Date.parse(certificate.validFrom)).toBeLessThan(now.getTime());
  expect(Date.parse(certificate.validTo)).toBeGreaterThan(now.getTime() + 365 * 86_400_000);
});

let keysDir: string;
beforeEach(async () => {
  keysDir = await copyOfTestKeys();
});
afterEach(async () => {
  await rm(keysDir, { recursive: true, force: true });
});

it("keeps the certificate across calls and replaces it when it nears expiry", async () => {
  const first = await ensureTlsCertificate(keysDir, "127.0.0.1");
  expect(await ensureTlsCertificate(keysDir, "127.0.0.1")).toEqual(first);
  const muchLater = new Date(Date.now() + 800 * 86_400_000);
  expect((await ensureTlsCertificate(keysDir, "127.0.0.1", muchLater)).cert).not.toBe(first.cert);
});
