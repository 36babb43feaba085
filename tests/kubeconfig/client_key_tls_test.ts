/**
 * Which client-key encodings Deno's own TLS client takes: `fetch` through
 * `Deno.createHttpClient({cert, key})` against the local API server, which authenticates the
 * certificate (a SelfSubjectReview names the user). The key checks accept all of them, so a
 * kubeconfig that passes them must also work on this path.
 */
import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { startApiServer } from "../apiserver/mod.ts";
import type { ClientKeyType } from "../apiserver/_pki.ts";
import { keyPairMatches } from "../../src/kubeconfig/_pem.ts";

async function whoAmI(
  url: string,
  caPem: string,
  pair: { certPem: string; keyPem: string },
): Promise<string> {
  let client: Deno.HttpClient;
  try {
    client = Deno.createHttpClient({ caCerts: [caPem], cert: pair.certPem, key: pair.keyPem });
  } catch (e) {
    return `refused by createHttpClient: ${(e as Error).message}`;
  }
  try {
    const response = await fetch(`${url}/apis/authentication.k8s.io/v1/selfsubjectreviews`, {
      method: "POST",
      client,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }),
    });
    const body = await response.json();
    return body.status?.userInfo?.username ?? `HTTP ${response.status}`;
  } catch (e) {
    return `refused by fetch: ${(e as Error).message}`;
  } finally {
    client.close();
  }
}

Deno.test("Deno.createHttpClient() takes PKCS#1, SEC1 and PKCS#8 client keys", async (t) => {
  const server = await startApiServer();
  try {
    const types: ClientKeyType[] = ["rsa-2048", "ec-p256", "ec-p384"];
    for (const keyType of types) {
      const pair = await server.issueClientCert(`user-${keyType}`, [], { keyType });
      const pkcs8 = createPrivateKey(pair.keyPem).export({ type: "pkcs8", format: "pem" })
        .toString();
      const native = keyType === "rsa-2048" ? "PKCS#1" : "SEC1";
      for (const [encoding, keyPem] of [[native, pair.keyPem], ["PKCS#8", pkcs8]]) {
        await t.step(`${keyType} ${encoding}`, async () => {
          const withKey = { certPem: pair.certPem, keyPem };
          assert.equal(await keyPairMatches(withKey), true);
          assert.equal(await whoAmI(server.url, server.caPem, withKey), `user-${keyType}`);
        });
      }
    }
  } finally {
    await server.close();
  }
});
