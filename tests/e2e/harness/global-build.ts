import { buildApp } from "./app-server";

/**
 * vitest globalSetup of the e2e project: one `next build` of APP_DIR for the whole run,
 * before the first e2e file starts (every file then runs `next start` on that build).
 */
export default async function buildOnce() {
  await buildApp();
}
