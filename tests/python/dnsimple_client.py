#!/usr/bin/env python3
"""Drives Candor's API with the official DNSimple Python client, unchanged.

Usage: dnsimple_client.py BASE_URL TOKEN ACCOUNT_ID

BASE_URL is the API's root without /v2 (for example http://127.0.0.1:8080);
the client adds /v2 itself. Needs `pip install dnsimple==2.15.0`.

The script creates a domain pytest-<random>.test, adds A, MX, TXT and CNAME
records, lists them with a name filter and pagination, reads, updates and
deletes one, checking the zone's records after every step, fetches the zone
file, checks distribution and deletes the domain. It exits 0 when every
check passed and 1 with a message naming the first mismatch otherwise.
"""

import os
import secrets
import sys
import time

from dnsimple import Client, DNSimpleException
from dnsimple.struct import ZoneRecordInput, ZoneRecordUpdateInput


class Mismatch(Exception):
    """A response differed from what Candor should have sent."""


def check(condition, message):
    """Raises Mismatch with `message` unless `condition` holds."""
    if not condition:
        raise Mismatch(message)


def step(message):
    """Reports progress on stdout."""
    print(f"ok: {message}", flush=True)


class Run:
    """One pass over the API with a fresh domain."""

    def __init__(self, base_url, token, account_id):
        self.client = Client(access_token=token, base_url=base_url)
        # HTTPS with a private CA (the TLS test's): the client sends through
        # its own requests session, which ignores REQUESTS_CA_BUNDLE, so the
        # CA is set on that session. A publicly trusted certificate needs
        # nothing.
        ca_bundle = os.environ.get("CANDOR_CA_BUNDLE")
        if ca_bundle:
            self.client.session.verify = ca_bundle
        self.account = int(account_id)
        self.zone = f"pytest-{secrets.token_hex(4)}.test"
        # Non-system records expected in the zone: (name, type, content, ttl, priority).
        self.expected = set()

    def records(self):
        """Every non-system record of the zone, read page by page."""
        found = set()
        page = 1
        while True:
            response = self.client.zones.list_records(self.account, self.zone, page=page, per_page=100)
            # Response keeps data on its class: read it before the next call.
            data, pagination = response.data, response.pagination
            for r in data:
                check(r.zone_id == self.zone, f"record {r.id} has zone_id {r.zone_id!r}, expected {self.zone!r}")
                check(r.parent_id is None, f"record {r.id} has parent_id {r.parent_id!r}")
                check(r.regions == ["global"], f"record {r.id} has regions {r.regions!r}")
                if not r.system_record:
                    found.add((r.name, r.type, r.content, r.ttl, r.priority))
            if page >= pagination.total_pages:
                return found
            page += 1

    def expect_records(self, after):
        """Checks the zone's records equal `self.expected`."""
        actual = self.records()
        missing = self.expected - actual
        unexpected = actual - self.expected
        check(
            not missing and not unexpected,
            f"after {after}: records differ; missing {sorted(missing)}, unexpected {sorted(unexpected)}",
        )
        step(f"record set matches after {after} ({len(actual)} records)")

    def create(self, name, rtype, content, ttl=None, priority=None, shown=None):
        """Creates a record and checks the echo; returns its id."""
        record = ZoneRecordInput(name=name, type=rtype, content=content, ttl=ttl, priority=priority)
        created = self.client.zones.create_record(self.account, self.zone, record).data
        shown = content if shown is None else shown
        want_ttl = 3600 if ttl is None else ttl
        check(created.name == name, f"created {rtype} has name {created.name!r}, expected {name!r}")
        check(created.type == rtype, f"created record has type {created.type!r}, expected {rtype!r}")
        check(created.content == shown, f"created {rtype} has content {created.content!r}, expected {shown!r}")
        check(created.ttl == want_ttl, f"created {rtype} has ttl {created.ttl!r}, expected {want_ttl}")
        check(created.priority == priority, f"created {rtype} has priority {created.priority!r}, expected {priority!r}")
        check(created.system_record is False, f"created {rtype} claims to be a system record")
        check(isinstance(created.id, int), f"created {rtype} has id {created.id!r}")
        self.expected.add((name, rtype, shown, want_ttl, priority))
        self.expect_records(f"creating {rtype} {name or '@'}")
        return created.id

    def run(self):
        client, account, zone = self.client, self.account, self.zone

        whoami = client.identity.whoami()
        me = whoami.data.account
        user = whoami.data.user
        check(user is None or "@" in (getattr(user, "email", "") or ""),
              f"whoami user is {user!r}, expected None or a user with an e-mail address")
        check(me is not None and me.id == account, f"whoami account is {getattr(me, 'id', None)!r}, expected {account}")
        check(isinstance(whoami.rate_limit, int) and whoami.rate_limit > 0, "whoami had no X-RateLimit-Limit")
        step(f"whoami: account {me.id} ({me.email}), plan {me.plan_identifier}")

        domain = client.domains.create_domain(account, zone).data
        check(domain.name == zone, f"created domain is {domain.name!r}, expected {zone!r}")
        check(domain.state == "hosted", f"created domain state is {domain.state!r}")
        check(domain.account_id == account, f"created domain account_id is {domain.account_id!r}")
        step(f"created domain {zone}")
        got = client.zones.get_zone(account, zone).data
        check(got.name == zone and got.account_id == account, f"get_zone returned {got.name!r}")
        listed = client.zones.list_zones(account, filter={"name_like": zone}).data
        check([z.name for z in listed] == [zone], f"list_zones name_like found {[z.name for z in listed]}")
        self.expect_records("creating the domain")

        www1 = self.create("www", "A", "192.0.2.10", ttl=600)
        self.create("www", "A", "192.0.2.11", ttl=600)
        self.create("", "MX", f"mail.{zone}", priority=10)
        self.create("", "TXT", "v=spf1 -all", ttl=300)
        self.create("docs", "CNAME", f"www.{zone}")

        # A name filter with one record per page: two pages of one.
        seen = []
        for page in (1, 2):
            response = client.zones.list_records(account, zone, filter={"name": "www"}, page=page, per_page=1)
            data, pagination = response.data, response.pagination
            check(len(data) == 1, f"page {page} of name=www has {len(data)} records, expected 1")
            check(pagination.current_page == page, f"pagination current_page is {pagination.current_page}, expected {page}")
            check(pagination.per_page == 1, f"pagination per_page is {pagination.per_page}, expected 1")
            check(pagination.total_entries == 2, f"pagination total_entries is {pagination.total_entries}, expected 2")
            check(pagination.total_pages == 2, f"pagination total_pages is {pagination.total_pages}, expected 2")
            seen.extend((r.name, r.content) for r in data)
        check(sorted(seen) == [("www", "192.0.2.10"), ("www", "192.0.2.11")], f"name=www pages held {seen}")
        typed = client.zones.list_records(account, zone, filter={"type": "CNAME"}).data
        check([(r.name, r.type) for r in typed] == [("docs", "CNAME")], f"type=CNAME found {[(r.name, r.type) for r in typed]}")
        step("name filter, type filter and pagination")

        record = client.zones.get_record(account, zone, www1).data
        check((record.id, record.name, record.type, record.content) == (www1, "www", "A", "192.0.2.10"),
              f"get_record returned {(record.id, record.name, record.type, record.content)}")
        step(f"got record {www1}")

        updated = client.zones.update_record(account, zone, www1, ZoneRecordUpdateInput(content="192.0.2.20", ttl=1200)).data
        check((updated.id, updated.content, updated.ttl) == (www1, "192.0.2.20", 1200),
              f"update_record returned {(updated.id, updated.content, updated.ttl)}")
        self.expected.discard(("www", "A", "192.0.2.10", 600, None))
        self.expected.add(("www", "A", "192.0.2.20", 1200, None))
        self.expect_records(f"updating record {www1}")

        client.zones.delete_record(account, zone, www1)
        self.expected.discard(("www", "A", "192.0.2.20", 1200, None))
        self.expect_records(f"deleting record {www1}")
        try:
            client.zones.get_record(account, zone, www1)
            raise Mismatch(f"record {www1} still readable after deletion")
        except DNSimpleException as e:
            check(e.status == 404, f"get of a deleted record gave {e.status}, expected 404")

        text = client.zones.get_zone_file(account, zone).data.zone
        for needle in ("SOA", "192.0.2.11", "v=spf1 -all", f"mail.{zone}.", f"www.{zone}."):
            check(needle in text, f"zone file lacks {needle!r}:\n{text}")
        check("192.0.2.20" not in text, f"zone file still has the deleted record:\n{text}")
        step("zone file")

        distributed = None
        for _ in range(10):
            distributed = client.zones.check_zone_distribution(account, zone).data.distributed
            if distributed is True:
                break
            time.sleep(0.5)
        check(distributed is True, f"zone distribution is {distributed!r}, expected True")
        docs = client.zones.list_records(account, zone, filter={"name": "docs"}).data[0].id
        record_distributed = client.zones.check_zone_record_distribution(account, zone, docs).data.distributed
        check(record_distributed is True, f"record distribution is {record_distributed!r}, expected True")
        step("distribution")

        client.domains.delete_domain(account, zone)
        try:
            client.domains.get_domain(account, zone)
            raise Mismatch(f"domain {zone} still readable after deletion")
        except DNSimpleException as e:
            check(e.status == 404, f"get of a deleted domain gave {e.status}, expected 404")
        remaining = [d.name for d in client.domains.list_domains(account, filter={"name_like": zone}).data]
        check(remaining == [], f"list_domains still shows {remaining}")
        step(f"deleted domain {zone}")


def main(argv):
    if len(argv) != 4:
        print(f"usage: {argv[0]} BASE_URL TOKEN ACCOUNT_ID", file=sys.stderr)
        return 2
    run = Run(argv[1], argv[2], argv[3])
    try:
        run.run()
    except Mismatch as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    except DNSimpleException as e:
        print(f"FAIL: API error {e.status}: {e.message} {e.attribute_errors or ''}", file=sys.stderr)
        return 1
    print(f"all checks passed against {argv[1]} with {run.zone}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
