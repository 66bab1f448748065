#!/usr/bin/env node
// Drives Candor's API with DNSimple's official Node client (npm `dnsimple`),
// unchanged: the client only speaks HTTPS, so this runs against a Candor
// started with --tls-cert/--tls-key, trusting its CA through
// NODE_EXTRA_CA_CERTS.
//
// Usage: node dnsimple_client.js BASE_URL TOKEN ACCOUNT_ID
// (`npm install` in this directory first). Creates a domain, adds, lists,
// reads, updates and deletes a record, reads the zone file and deletes the
// domain; exits 0 when every check passed, 1 naming the first mismatch.

const { DNSimple } = require("dnsimple");

function check(condition, message) {
  if (!condition) {
    throw new Error(`mismatch: ${message}`);
  }
}

async function main() {
  const [baseUrl, accessToken, accountText] = process.argv.slice(2);
  const account = Number(accountText);
  const client = new DNSimple({ baseUrl, accessToken });
  const zone = `node-${Math.random().toString(16).slice(2, 10)}.test`;

  const who = await client.identity.whoami();
  check(who.data.account && who.data.account.id === account, `whoami: ${JSON.stringify(who.data)}`);
  console.log("ok: whoami");

  const domain = await client.domains.createDomain(account, { name: zone });
  check(domain.data.name === zone, `created domain ${JSON.stringify(domain.data)}`);
  console.log(`ok: created ${zone}`);

  const created = await client.zones.createZoneRecord(account, zone, {
    name: "www", type: "A", content: "192.0.2.80", ttl: 300,
  });
  const id = created.data.id;
  check(created.data.content === "192.0.2.80" && created.data.zone_id === zone,
    `created record ${JSON.stringify(created.data)}`);
  console.log("ok: created a record");

  const all = await client.zones.listZoneRecords.collectAll(account, zone);
  check(all.some((r) => r.id === id && r.name === "www"), `listed ${JSON.stringify(all)}`);
  console.log(`ok: listed ${all.length} records`);

  const one = await client.zones.getZoneRecord(account, zone, id);
  check(one.data.ttl === 300 && one.data.type === "A", `read ${JSON.stringify(one.data)}`);

  const updated = await client.zones.updateZoneRecord(account, zone, id, { content: "192.0.2.81" });
  check(updated.data.content === "192.0.2.81", `updated ${JSON.stringify(updated.data)}`);
  console.log("ok: read and updated the record");

  const file = await client.zones.getZoneFile(account, zone);
  check(file.data.zone.includes("192.0.2.81"), `zone file ${file.data.zone}`);
  console.log("ok: zone file");

  await client.zones.deleteZoneRecord(account, zone, id);
  let gone = false;
  try {
    await client.zones.getZoneRecord(account, zone, id);
  } catch (e) {
    gone = e.status === 404 || (e.constructor && e.constructor.name === "NotFoundError");
  }
  check(gone, "the deleted record is still there");
  await client.domains.deleteDomain(account, zone);
  console.log("ok: deleted the record and the domain");
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e, e && e.data ? JSON.stringify(e.data) : "");
  process.exit(1);
});
