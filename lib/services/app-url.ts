import { env } from "@/lib/env";

/**
 * The app's public address, read at run time (never frozen into the build):
 * APP_URL, else NEXT_PUBLIC_APP_URL, else the address this server listens on.
 */
export function appUrl(): string {
  const configured = env.APP_URL ?? env.NEXT_PUBLIC_APP_URL;
  if (configured) return configured.replace(/\/+$/, "");
  return `http://localhost:${env.PORT}`;
}
