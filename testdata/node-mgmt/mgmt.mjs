// Drives latch's Management API through Auth0's own Node SDK (ManagementClient from the
// `auth0` package), the way an application would: a bare domain, https, and the client's id
// and secret, so the SDK fetches its own token from /oauth/token.
//
// Environment: LATCH_DOMAIN (host:port), LATCH_CLIENT_ID, LATCH_CLIENT_SECRET, and
// NODE_EXTRA_CA_CERTS naming the certificate latch serves. LATCH_CONNECTION names the database
// connection users are created in; LATCH_RUN_ID, if set, goes into every name and email.
//
// It prints one JSON report on stdout: what each SDK call returned (or threw), for the Go test
// (cmd/latch/nodesdk_test.go) to assert on. A step that throws unexpectedly is recorded with
// its error and the script goes on, so one report shows every incompatibility at once.

import { createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { createRequire } from "node:module";

import { ManagementClient, ManagementError, Management } from "auth0";

const domain = process.env.LATCH_DOMAIN;
const clientId = process.env.LATCH_CLIENT_ID;
const clientSecret = process.env.LATCH_CLIENT_SECRET;
const connection = process.env.LATCH_CONNECTION || "Username-Password-Authentication";
if (!domain || !clientId || !clientSecret) {
  console.error("mgmt.mjs: set LATCH_DOMAIN, LATCH_CLIENT_ID and LATCH_CLIENT_SECRET");
  process.exit(2);
}

const require = createRequire(import.meta.url);
const report = { sdk_version: require("auth0/package.json").version, steps: {} };

// The SDK's defaults otherwise, retries on 429 and 5xx included, as an application runs it.
const mgmt = new ManagementClient({ domain, clientId, clientSecret });

// describeError keeps what the SDK made of a failure: its class, status and parsed body.
function describeError(err) {
  const out = { name: err?.name, message: String(err?.message ?? err) };
  if (err instanceof ManagementError) {
    out.management_error = true;
    out.statusCode = err.statusCode;
    out.body = err.body;
  }
  for (const cls of ["BadRequestError", "UnauthorizedError", "ForbiddenError", "NotFoundError", "ConflictError", "TooManyRequestsError"]) {
    if (Management[cls] && err instanceof Management[cls]) out.class = cls;
  }
  return out;
}

// step runs one named part of the scenario and records its result or its error.
async function step(name, fn) {
  try {
    report.steps[name] = { ok: true, value: await fn() };
  } catch (err) {
    report.steps[name] = { ok: false, error: describeError(err) };
  }
  return report.steps[name];
}

// expectError runs fn, which should throw, and records the error; a success is recorded too.
async function expectError(name, fn) {
  try {
    const value = await fn();
    report.steps[name] = { ok: true, threw: false, value };
  } catch (err) {
    report.steps[name] = { ok: true, threw: true, error: describeError(err) };
  }
}

// pageView is what a Page of the SDK offers its caller.
function pageView(page) {
  return { response: page.response, data: page.data, has_next_page: page.hasNextPage() };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// waitJob polls jobs.get until the job is done, as an application would.
async function waitJob(id) {
  let job;
  for (let i = 0; i < 300; i++) {
    job = await mgmt.jobs.get(id);
    if (job.status === "completed" || job.status === "failed") return job;
    await sleep(100);
  }
  throw new Error(`job ${id} still ${job?.status} after 300 polls`);
}

// Names and emails carry the run id, so the script can run again against the same latch.
const stamp = process.env.LATCH_RUN_ID || Date.now().toString(36);
report.run_id = stamp;
const email = (n) => `node-${n}-${stamp}@example.com`;
const password = "Correct-Horse-9";

// ---------------------------------------------------------------------------------------
// Users

const created = await step("users.create", async () => {
  const { data, rawResponse } = await mgmt.users
    .create({
      connection, email: email("ada"), password, email_verified: true, given_name: "Ada",
      user_metadata: { plan: "silver", theme: { color: "blue", size: 10 }, lang: "en" },
      app_metadata: { roles: ["admin"], tier: 2 },
    })
    .withRawResponse();
  return { status: rawResponse.status, content_type: rawResponse.headers.get("content-type"), user: data };
});
const adaID = created.ok ? created.value.user.user_id : "auth0|missing";

await step("users.get", () => mgmt.users.get(adaID));

await step("users.update.merge", () =>
  mgmt.users.update(adaID, { user_metadata: { theme: { size: 12 }, lang: "fr" }, app_metadata: { tier: 3 } }));

await step("users.update.null_key", () => mgmt.users.update(adaID, { user_metadata: { plan: null } }));

await step("users.get.fields", () => mgmt.users.get(adaID, { fields: "user_id,email", include_fields: true }));

const bob = await step("users.create.second", () =>
  mgmt.users.create({ connection, email: email("bob"), password, user_metadata: { lang: "de" }, app_metadata: { keep: true } }));

// An empty object removes every key of that metadata (and leaves the other one alone).
await step("users.update.empty_metadata", () =>
  mgmt.users.update(bob.ok ? bob.value.user_id : "auth0|missing", { user_metadata: {} }));

await step("users.list.totals", async () => {
  const page = await mgmt.users.list({ include_totals: true, per_page: 1, page: 0, sort: "email:1" });
  const first = pageView(page);
  const next = page.hasNextPage() ? pageView(await page.getNextPage()) : null;
  return { first, next };
});

await step("users.list.iterate", async () => {
  const emails = [];
  for await (const u of await mgmt.users.list({ per_page: 1, sort: "email:1" })) {
    emails.push(u.email);
    if (emails.length > 20) break;
  }
  return emails;
});

await step("users.list.no_totals", async () => pageView(await mgmt.users.list({ include_totals: false })));

await step("users.list.q", async () =>
  pageView(await mgmt.users.list({ q: 'user_metadata.lang:"fr"', search_engine: "v3" })));

await step("users.list.bad_q", async () => {
  try {
    return { threw: false, page: pageView(await mgmt.users.list({ q: "email:(", search_engine: "v3" })) };
  } catch (err) {
    return { threw: true, error: describeError(err) };
  }
});

await step("users.listUsersByEmail", () => mgmt.users.listUsersByEmail({ email: email("ada").toUpperCase() }));

await expectError("users.get.404", () => mgmt.users.get("auth0|000000000000000000000000"));
await expectError("users.create.409", () => mgmt.users.create({ connection, email: email("ada"), password }));
await expectError("users.update.400", () => mgmt.users.update(adaID, { user_metadata: "not an object" }));

await step("users.delete", async () => {
  const { data, rawResponse } = await mgmt.users.delete(adaID).withRawResponse();
  return { status: rawResponse.status, data: data ?? null };
});
await expectError("users.get.after_delete", () => mgmt.users.get(adaID));

// ---------------------------------------------------------------------------------------
// Rules

const script = (claim) =>
  `function (user, context, callback) { context.idToken["https://example.com/${claim}"] = true; callback(null, user, context); }`;
const ruleIDs = [];
for (const n of ["alpha", "beta", "gamma"]) {
  const s = await step(`rules.create.${n}`, () => mgmt.rules.create({ name: `node-${n}-${stamp}`, script: script(n) }));
  if (s.ok) ruleIDs.push(s.value.id);
}

await step("rules.list.paged", async () => {
  const page = await mgmt.rules.list({ page: 0, per_page: 2, include_totals: true });
  const first = pageView(page);
  const next = page.hasNextPage() ? pageView(await page.getNextPage()) : null;
  return { first, next };
});

await step("rules.list.iterate", async () => {
  const names = [];
  for await (const r of await mgmt.rules.list({ per_page: 2 })) {
    names.push(r.name);
    if (names.length > 20) break;
  }
  return names;
});

await step("rules.update", () =>
  mgmt.rules.update(ruleIDs[0], { script: script("alpha2"), enabled: false, order: 10 }));
await step("rules.get", () => mgmt.rules.get(ruleIDs[0]));
await expectError("rules.update.409", () => mgmt.rules.update(ruleIDs[2], { order: 10 }));
await expectError("rules.create.409", () => mgmt.rules.create({ name: `node-beta-${stamp}`, script: script("dup") }));
await expectError("rules.get.404", () => mgmt.rules.get("rul_0000000000000000"));

await step("rules.delete", async () => {
  const { data, rawResponse } = await mgmt.rules.delete(ruleIDs[1]).withRawResponse();
  return { status: rawResponse.status, data: data ?? null };
});
await step("rules.list.after_delete", async () => pageView(await mgmt.rules.list({ include_totals: true })));

// ---------------------------------------------------------------------------------------
// Rules configs

await step("rulesConfigs.set", () => mgmt.rulesConfigs.set("SLACK_HOOK_URL", { value: "https://hooks.example.com/x" }));
await step("rulesConfigs.set.replace", () => mgmt.rulesConfigs.set("SLACK_HOOK_URL", { value: "https://hooks.example.com/y" }));
await step("rulesConfigs.set.other", () => mgmt.rulesConfigs.set("API_KEY", { value: "k-1" }));
await step("rulesConfigs.list", () => mgmt.rulesConfigs.list());
await step("rulesConfigs.delete", async () => {
  const { data, rawResponse } = await mgmt.rulesConfigs.delete("SLACK_HOOK_URL").withRawResponse();
  return { status: rawResponse.status, data: data ?? null };
});
await step("rulesConfigs.list.after_delete", () => mgmt.rulesConfigs.list());

// ---------------------------------------------------------------------------------------
// Jobs: import a file of users, export the connection, read the export's file.

const conn = await step("connections.list", async () => {
  const page = await mgmt.connections.list({ name: connection });
  return page.data.map((c) => ({ id: c.id, name: c.name, strategy: c.strategy }));
});
const connectionID = conn.ok && conn.value.length > 0 ? conn.value[0].id : "con_missing";

// take: 1 makes the SDK page through every connection with from/next.
await step("connections.list.take1", async () => {
  const page = await mgmt.connections.list({ take: 1 });
  const first = pageView(page);
  const names = [];
  for await (const c of await mgmt.connections.list({ take: 1 })) {
    names.push(c.name);
    if (names.length > 20) break;
  }
  return { first, names };
});

const dir = await mkdtemp(join(tmpdir(), "latch-node-mgmt-"));
try {
  const file = join(dir, "users.json");
  await writeFile(file, JSON.stringify([
    { email: email("imp1"), email_verified: true, user_metadata: { source: "import" }, app_metadata: { plan: "gold" } },
    { email: email("imp2"), given_name: "Imp" },
    { email: "not-an-email" },
  ]));
  const imp = await step("jobs.usersImports.create", async () => {
    const { data, rawResponse } = await mgmt.jobs.usersImports
      .create({ users: createReadStream(file), connection_id: connectionID, external_id: `ext-${stamp}`, upsert: false })
      .withRawResponse();
    return { status: rawResponse.status, job: data };
  });
  if (imp.ok) {
    await step("jobs.get.import", () => waitJob(imp.value.job.id));
    await step("jobs.errors.get", () => mgmt.jobs.errors.get(imp.value.job.id));
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

const exp = await step("jobs.usersExports.create", () =>
  mgmt.jobs.usersExports.create({
    connection_id: connectionID, format: "json",
    fields: [{ name: "email" }, { name: "user_metadata.source", export_as: "source" }],
  }));
if (exp.ok) {
  const done = await step("jobs.get.export", () => waitJob(exp.value.id));
  if (done.ok && done.value.location) {
    await step("jobs.export.file", async () => {
      const resp = await fetch(done.value.location);
      if (!resp.ok) throw new Error(`GET location: ${resp.status}`);
      const text = gunzipSync(Buffer.from(await resp.arrayBuffer())).toString("utf8");
      return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
    });
  }
}
await expectError("jobs.get.404", () => mgmt.jobs.get("job_0000000000000000"));

// A wrong secret: the SDK's own token request fails, and the call with it.
await expectError("token.bad_secret", () =>
  new ManagementClient({ domain, clientId, clientSecret: "not-the-secret-0123456789abcdef0123456789", maxRetries: 0 }).users.get(adaID));

process.stdout.write(JSON.stringify(report) + "\n");
