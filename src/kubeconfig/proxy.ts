/** Choosing a proxy from the environment as Go's `golang.org/x/net/http/httpproxy` does. */

import { cidrContains, ipEqual, isLoopback, parseCidr, parseIp } from "./_ip.ts";
import type { Cidr, Ip } from "./_ip.ts";

/** Reads one environment variable. */
export type EnvLookup = (name: string) => string | undefined;

const DEFAULT_PORTS: Record<string, string> = { "http:": "80", "https:": "443", "socks5:": "1080" };

/**
 * The proxy Go's `http.ProxyFromEnvironment` would use for `url`, or undefined for a direct
 * connection: `HTTPS_PROXY`/`https_proxy` for https URLs, `HTTP_PROXY`/`http_proxy` for http ones
 * (uppercase first), skipped for hosts matched by `NO_PROXY`/`no_proxy`, and never for
 * `localhost` or loopback addresses. A proxy given as `host:port` gets an `http://` scheme.
 */
export function proxyForUrl(url: string, env: EnvLookup): string | undefined {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return undefined;
  }
  const raw = target.protocol === "https:"
    ? anyEnv(env, "HTTPS_PROXY", "https_proxy")
    : target.protocol === "http:"
    ? anyEnv(env, "HTTP_PROXY", "http_proxy")
    : undefined;
  const proxy = raw ? parseProxy(raw) : undefined;
  if (!proxy) return undefined;
  const host = unbracket(target.hostname);
  const port = target.port || DEFAULT_PORTS[target.protocol];
  return useProxy(host, port, anyEnv(env, "NO_PROXY", "no_proxy") ?? "") ? proxy : undefined;
}

function anyEnv(env: EnvLookup, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env(name);
    if (value) return value;
  }
  return undefined;
}

function parseProxy(value: string): string | undefined {
  try {
    const parsed = new URL(value);
    if (["http:", "https:", "socks5:"].includes(parsed.protocol)) return value;
  } catch {
    // Not a URL; try it as host[:port] below.
  }
  try {
    new URL(`http://${value}`);
    return `http://${value}`;
  } catch {
    // Go ignores a proxy setting it cannot parse.
    return undefined;
  }
}

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

function toAscii(host: string): string {
  // Punycode as Go's idna.Lookup.ToASCII would, via the URL parser.
  if (/^\p{ASCII}*$/u.test(host)) return host;
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return host;
  }
}

type Matcher =
  | { kind: "all" }
  | { kind: "cidr"; cidr: Cidr }
  | { kind: "ip"; ip: Ip; port: string }
  | { kind: "domain"; host: string; port: string; matchHost: boolean };

function noProxyMatchers(noProxy: string): Matcher[] {
  const matchers: Matcher[] = [];
  for (const entry of noProxy.split(",")) {
    const p = entry.trim().toLowerCase();
    if (p === "") continue;
    if (p === "*") return [{ kind: "all" }];
    const cidr = parseCidr(p);
    if (cidr) {
      matchers.push({ kind: "cidr", cidr });
      continue;
    }
    let [phost, pport] = splitHostPort(p) ?? [p, ""];
    if (phost === "") continue;
    const ip = parseIp(phost);
    if (ip) {
      matchers.push({ kind: "ip", ip, port: pport });
      continue;
    }
    if (phost.startsWith("*.")) phost = phost.slice(1);
    const matchHost = !phost.startsWith(".");
    if (matchHost) phost = `.${phost}`;
    matchers.push({ kind: "domain", host: `.${toAscii(phost.slice(1))}`, port: pport, matchHost });
  }
  return matchers;
}

/** Go's net.SplitHostPort for the forms NO_PROXY entries take; undefined when there is no port. */
function splitHostPort(s: string): [string, string] | undefined {
  if (s.startsWith("[")) {
    const end = s.indexOf("]");
    if (end < 0 || s[end + 1] !== ":") return undefined;
    return [s.slice(1, end), s.slice(end + 2)];
  }
  const colon = s.lastIndexOf(":");
  if (colon < 0 || s.indexOf(":") !== colon) return undefined;
  return [s.slice(0, colon), s.slice(colon + 1)];
}

function useProxy(host: string, port: string, noProxy: string): boolean {
  if (host === "localhost") return false;
  const ip = parseIp(host);
  if (ip && isLoopback(ip)) return false;
  const name = toAscii(host.trim().toLowerCase());
  for (const m of noProxyMatchers(noProxy)) {
    switch (m.kind) {
      case "all":
        return false;
      case "cidr":
        if (ip && cidrContains(m.cidr, ip)) return false;
        break;
      case "ip":
        if (ip && ipEqual(m.ip, ip) && (m.port === "" || m.port === port)) return false;
        break;
      case "domain":
        if (
          (name.endsWith(m.host) || (m.matchHost && name === m.host.slice(1))) &&
          (m.port === "" || m.port === port)
        ) return false;
        break;
    }
  }
  return true;
}
