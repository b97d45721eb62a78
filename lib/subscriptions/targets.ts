import "server-only";
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { env, isProduction } from "@/lib/env";

/**
 * SSRF guard for users' webhook endpoints (CONTRACT §6): in production an endpoint may not
 * point at this machine, the private network or a cloud metadata service — checked when it
 * is registered and again for every connection (DNS can change between the two), unless
 * WEBHOOK_ALLOW_PRIVATE_TARGETS=true. Outside production everything is allowed (local
 * receivers, tests).
 */

const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8], // "this network"; 0.0.0.0 reaches the local host
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT (and Alibaba's metadata 100.100.100.200)
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, the metadata service of AWS, GCP, Azure (169.254.169.254)
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const)
  BLOCKED.addSubnet(net, prefix, "ipv4");
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b::", 96], // NAT64: an IPv4 address in disguise
  ["fc00::", 7], // unique local (AWS's IPv6 metadata fd00:ec2::254 too)
  ["fe80::", 10], // link-local
  ["ff00::", 8], // multicast
] as const)
  BLOCKED.addSubnet(net, prefix, "ipv6");

/** True for an address a webhook must not reach in production. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, "ipv4");
  if (family !== 6) return true; // not an address at all: refuse rather than guess
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return BLOCKED.check(mapped[1]!, "ipv4");
  return BLOCKED.check(address, "ipv6");
}

export type TargetPolicy = { allowPrivate: boolean };

/** From the settings: private targets are refused only in production, unless allowed. */
export function targetPolicy(): TargetPolicy {
  return { allowPrivate: !isProduction || env.WEBHOOK_ALLOW_PRIVATE_TARGETS };
}

export class TargetRefused extends Error {
  name = "TargetRefused";
}

/** The host of a URL as DNS and isIP want it (IPv6 literals lose their brackets). */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

/**
 * At registration: resolves the URL's host and refuses it (TargetRefused, with the reason)
 * when any of its addresses is private. A host that does not resolve is refused too.
 */
export async function checkTarget(
  rawUrl: string,
  policy: TargetPolicy = targetPolicy(),
): Promise<void> {
  if (policy.allowPrivate) return;
  const url = new URL(rawUrl);
  const host = hostOf(url);
  const addresses = isIP(host)
    ? [host]
    : await new Promise<string[]>((resolve, reject) =>
        dnsLookup(host, { all: true, verbatim: true }, (error, found: LookupAddress[]) =>
          error
            ? reject(new TargetRefused(`${host} does not resolve (${error.code ?? error.message})`))
            : resolve(found.map((a) => a.address)),
        ),
      );
  const refused = addresses.find(isPrivateAddress);
  if (refused)
    throw new TargetRefused(
      `${host} resolves to ${refused}, a loopback, private or link-local address (set WEBHOOK_ALLOW_PRIVATE_TARGETS=true to allow it)`,
    );
}

/**
 * At send time: the `lookup` of every connection a delivery opens, so the address actually
 * connected to is the one checked (no window between a check and a second resolution).
 * Literal IP hosts never reach a lookup: `checkLiteral` covers them.
 */
export function guardedLookup(policy: TargetPolicy = targetPolicy()): LookupFunction | undefined {
  if (policy.allowPrivate) return undefined;
  return ((hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, found: LookupAddress[]) => {
      if (error) return callback(error, "", 0);
      const refused = found.find((a) => isPrivateAddress(a.address));
      if (refused)
        return callback(
          new TargetRefused(
            `${hostname} resolves to ${refused.address}, a loopback, private or link-local address`,
          ),
          "",
          0,
        );
      if ((options as { all?: boolean }).all)
        return (callback as never as AllCallback)(null, found);
      const first = found[0]!;
      callback(null, first.address, first.family);
    });
  }) as LookupFunction;
}
type AllCallback = (error: Error | null, addresses: LookupAddress[]) => void;

/** A literal IP host, refused when private (hostnames are checked by guardedLookup). */
export function checkLiteral(rawUrl: string, policy: TargetPolicy = targetPolicy()): void {
  if (policy.allowPrivate) return;
  const host = hostOf(new URL(rawUrl));
  if (isIP(host) && isPrivateAddress(host))
    throw new TargetRefused(`${host} is a loopback, private or link-local address`);
}
