import { X509Certificate } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type CertificateFiles, createSelfSignedCertificate } from "./self-signed-certificate.js";

/** The names the HTTPS mode's certificate covers. */
const LOCAL_HOSTS = ["127.0.0.1", "::1", "localhost"];
/** A certificate this close to expiry is replaced. */
const RENEW_BEFORE_MS = 30 * 86_400_000;

export function certificatePath(keysDir: string): string {
  return join(keysDir, "tls-cert.pem");
}

function usable(files: CertificateFiles, host: string, now: Date): boolean {
  const certificate = new X509Certificate(files.cert);
  const covers =
    certificate.checkIP(host) !== undefined || certificate.checkHost(host) !== undefined;
  return covers && Date.parse(certificate.validTo) - now.getTime() > RENEW_BEFORE_MS;
}

/**
 * The HTTPS mode's certificate and key, kept beside the signing keys so that a client told to
 * trust the certificate (`NODE_EXTRA_CA_CERTS`) keeps trusting it across restarts.
 */
export async function ensureTlsCertificate(
  keysDir: string,
  host: string,
  now = new Date(),
): Promise<CertificateFiles> {
  const keyPath = join(keysDir, "tls-key.pem");
  try {
    const files = {
      key: await readFile(keyPath, "utf8"),
      cert: await readFile(certificatePath(keysDir), "utf8"),
    };
    if (usable(files, host, now)) return files;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const hosts = LOCAL_HOSTS.includes(host) ? LOCAL_HOSTS : [...LOCAL_HOSTS, host];
  const files = createSelfSignedCertificate(hosts, { now });
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  await writeFile(`${keyPath}.tmp`, files.key, { mode: 0o600 });
  await writeFile(`${certificatePath(keysDir)}.tmp`, files.cert);
  await rename(`${keyPath}.tmp`, keyPath);
  await rename(`${certificatePath(keysDir)}.tmp`, certificatePath(keysDir));
  return files;
}
