import assert from "node:assert/strict";
import { proxyForUrl } from "../../src/kubeconfig/proxy.ts";

Deno.test("proxyForUrl() follows Go's httpproxy rules", async (t) => {
  const P = "http://proxy:3128";
  const cases: [string, string, Record<string, string>, string | undefined][] = [
    ["https uses HTTPS_PROXY", "https://api.example:6443", { HTTPS_PROXY: P }, P],
    ["https ignores HTTP_PROXY", "https://api.example", { HTTP_PROXY: P }, undefined],
    ["http uses HTTP_PROXY", "http://api.example", { HTTP_PROXY: P }, P],
    ["lowercase works", "https://api.example", { https_proxy: P }, P],
    ["uppercase wins", "https://api.example", { HTTPS_PROXY: P, https_proxy: "http://other" }, P],
    ["host:port gets http://", "https://api.example", { HTTPS_PROXY: "proxy:3128" }, P],
    [
      "ip:port gets http://",
      "https://api.example",
      { HTTPS_PROXY: "10.0.0.1:3128" },
      "http://10.0.0.1:3128",
    ],
    ["socks5 kept", "https://api.example", { HTTPS_PROXY: "socks5://s:1080" }, "socks5://s:1080"],
    ["localhost never", "https://localhost:6443", { HTTPS_PROXY: P }, undefined],
    ["loopback v4 never", "https://127.1.2.3:6443", { HTTPS_PROXY: P }, undefined],
    ["loopback v6 never", "https://[::1]:6443", { HTTPS_PROXY: P }, undefined],
    ["NO_PROXY=* disables", "https://api.example", { HTTPS_PROXY: P, NO_PROXY: "*" }, undefined],
    ["domain and subdomains", "https://x.corp.example", {
      HTTPS_PROXY: P,
      NO_PROXY: "corp.example",
    }, undefined],
    [
      "the domain itself",
      "https://corp.example",
      { HTTPS_PROXY: P, NO_PROXY: "corp.example" },
      undefined,
    ],
    ["leading dot: subdomains only", "https://corp.example", {
      HTTPS_PROXY: P,
      NO_PROXY: ".corp.example",
    }, P],
    ["leading dot matches a subdomain", "https://a.corp.example", {
      HTTPS_PROXY: P,
      NO_PROXY: ".corp.example",
    }, undefined],
    [
      "*. prefix",
      "https://a.corp.example",
      { HTTPS_PROXY: P, NO_PROXY: "*.corp.example" },
      undefined,
    ],
    ["suffix is not a label match", "https://notcorp.example", {
      HTTPS_PROXY: P,
      NO_PROXY: "corp.example",
    }, P],
    ["case-insensitive, spaces trimmed", "https://API.Corp.Example", {
      HTTPS_PROXY: P,
      NO_PROXY: " corp.EXAMPLE ,x",
    }, undefined],
    ["domain with matching port", "https://api.example:6443", {
      HTTPS_PROXY: P,
      NO_PROXY: "api.example:6443",
    }, undefined],
    ["domain with another port", "https://api.example:6443", {
      HTTPS_PROXY: P,
      NO_PROXY: "api.example:443",
    }, P],
    [
      "default port counts",
      "https://api.example",
      { HTTPS_PROXY: P, NO_PROXY: "api.example:443" },
      undefined,
    ],
    ["IP", "https://10.1.2.3:6443", { HTTPS_PROXY: P, NO_PROXY: "10.1.2.3" }, undefined],
    ["IP with port", "https://10.1.2.3:6443", { HTTPS_PROXY: P, NO_PROXY: "10.1.2.3:443" }, P],
    ["CIDR", "https://10.1.2.3:6443", { HTTPS_PROXY: P, NO_PROXY: "10.0.0.0/8" }, undefined],
    ["CIDR miss", "https://11.1.2.3:6443", { HTTPS_PROXY: P, NO_PROXY: "10.0.0.0/8" }, P],
    ["IPv6 CIDR", "https://[fd00::5]:6443", { HTTPS_PROXY: P, NO_PROXY: "fd00::/8" }, undefined],
    [
      "IPv6 with port",
      "https://[fd00::5]:6443",
      { HTTPS_PROXY: P, NO_PROXY: "[fd00::5]:6443" },
      undefined,
    ],
    ["an IP entry does not match names", "https://api.example", {
      HTTPS_PROXY: P,
      NO_PROXY: "10.1.2.3",
    }, P],
    ["no proxy set", "https://api.example", { NO_PROXY: "x" }, undefined],
  ];
  for (const [name, url, env, expected] of cases) {
    await t.step(name, () => {
      assert.equal(proxyForUrl(url, (n) => env[n]), expected);
    });
  }
});
