/** Says once, at the start of `npm test`, which real backends this run uses. */
export default function announceBackends() {
  const db = process.env.TEST_DATABASE_URL
    ? `PostgreSQL (TEST_DATABASE_URL=${process.env.TEST_DATABASE_URL.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@")})`
    : "PGlite in memory (set TEST_DATABASE_URL to use PostgreSQL)";
  const redis = process.env.TEST_REDIS_URL
    ? `Redis (TEST_REDIS_URL=${process.env.TEST_REDIS_URL})`
    : "none — Redis rate-limit tests skipped (set TEST_REDIS_URL to run them)";
  console.log(`\nFramechain tests\n  database: ${db}\n  redis:    ${redis}\n`);
}
