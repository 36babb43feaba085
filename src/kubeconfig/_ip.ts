/** IP address parsing as Go's `net.ParseIP` / `net.ParseCIDR` do it, on 16-byte forms. */

/** A parsed IP address: 16 bytes, IPv4 stored IPv4-mapped (`::ffff:a.b.c.d`) as Go does. */
export type Ip = Uint8Array;

/** A parsed CIDR network. */
export interface Cidr {
  ip: Ip;
  /** Prefix length over the 16-byte form (IPv4 prefixes are shifted by 96). */
  bits: number;
}

const V4_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

function parseIPv4(s: string): number[] | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const part of parts) {
    // Go 1.17+ rejects leading zeros (they used to mean octal elsewhere).
    if (!/^\d{1,3}$/.test(part) || (part.length > 1 && part[0] === "0")) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

function parseIPv6(s: string): number[] | undefined {
  let tail: number[] = [];
  let text = s;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = v4;
    text = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const total = head.length + rest.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const all = [...head, ...Array(8 - total).fill("0"), ...rest];
  const bytes: number[] = [];
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const n = parseInt(g, 16);
    bytes.push(n >> 8, n & 0xff);
  }
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** Parses an IPv4 or IPv6 literal (no brackets, no zone); undefined when it is not one. */
export function parseIp(s: string): Ip | undefined {
  const v4 = parseIPv4(s);
  if (v4) return new Uint8Array([...V4_PREFIX, ...v4]);
  if (!s.includes(":")) return undefined;
  const v6 = parseIPv6(s);
  return v6 ? new Uint8Array(v6) : undefined;
}

/** Parses `ip/bits`; undefined when it is not a CIDR. */
export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf("/");
  if (slash < 0) return undefined;
  const addr = s.slice(0, slash);
  const bitsText = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText)) return undefined;
  const v4 = parseIPv4(addr);
  const ip = parseIp(addr);
  if (!ip) return undefined;
  const bits = Number(bitsText);
  if (bits > (v4 ? 32 : 128)) return undefined;
  return { ip, bits: v4 ? bits + 96 : bits };
}

/** Whether `ip` lies in `cidr`. */
export function cidrContains(cidr: Cidr, ip: Ip): boolean {
  for (let bit = 0; bit < cidr.bits; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if ((cidr.ip[byte] & mask) !== (ip[byte] & mask)) return false;
  }
  return true;
}

/** Whether two addresses are equal (IPv4 equals its IPv4-mapped IPv6 form). */
export function ipEqual(a: Ip, b: Ip): boolean {
  return a.every((byte, i) => byte === b[i]);
}

const LOOPBACK_V4: Cidr = { ip: new Uint8Array([...V4_PREFIX, 127, 0, 0, 0]), bits: 104 };
const LOOPBACK_V6 = new Uint8Array([...Array(15).fill(0), 1]);

/** Go's `IP.IsLoopback`: 127.0.0.0/8 or ::1. */
export function isLoopback(ip: Ip): boolean {
  return cidrContains(LOOPBACK_V4, ip) || ipEqual(ip, LOOPBACK_V6);
}
