"""What the local test sites contain, and what a correct crawl of each must store.

Three sites are built, all deterministic (fixed seeds):

- the *catalogue* of a wholesale supplier on two hosts, "a" and "b": a tree of pages (every
  page reachable from "/"), links written in every form a real site uses (relative, absolute,
  scheme-relative, with fragments, dot segments, stray spaces), links across the two hosts and
  to a third host "x" that is out of scope, slow pages, a robots.txt on "a" (and none on "b"),
  redirects (permanent, temporary, relative, across hosts, into a disallowed path, loops and an
  endless chain), missing pages, a text file, an image, a 5 MB sitemap and a cluster of slow
  reports;
- the same catalogue without those special resources, bigger and with network-like latency,
  for resumption and throughput;
- a *trouble* host "t" whose resources fail in scripted ways: 503s, a 429 with Retry-After,
  timeouts, connection resets, each either once (then served) or for ever.
"""

import hashlib
import html
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from localsite import CUT, RESET, SERVE, LocalSite, Resource, Step, hang, redirect, status

BOT = "cap2-acceptance-bot"
USER_AGENT = f"{BOT}/1.0 (+https://pymastery.test/bot)"

ROBOTS_A = f"""\
# Northwind Wholesale: crawlers welcome, members' area excepted
User-agent: *
Disallow: /drafts/
Disallow: /members/

User-agent: {BOT}
Allow: /members/public/
Disallow: /members/
Disallow: /search
"""

SITEMAP_TITLE = "Northwind Wholesale sitemap"
REPORTS = 24  # slow pages (0.4 s each) all linked from /reports on host b
VOCABULARY = """
order invoice pallet carton supplier warehouse freight shipment tariff customs quantity discount
wholesale retail catalogue stock backorder delivery courier receipt ledger payment terms net
thirty credit refund return dock forklift container manifest inventory reorder threshold lead
time vendor purchase quote margin bulk seasonal clearance sample swatch fabric hardware fastener
"""
WORDS = VOCABULARY.split()


@dataclass(frozen=True)
class Expected:
    """A page the crawl must store with status 200."""

    title: str | None
    sha256: str


@dataclass(frozen=True)
class ExpectedFailure:
    reason: str  # http_status | timeout | connection | too_many_redirects
    status: int | None
    attempts: int


@dataclass
class Plan:
    """A site and the stored result a correct crawl of it ends with."""

    site: LocalSite
    seeds: list[str]
    pages: dict[str, Expected] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)  # url -> normalised Location
    failures: dict[str, ExpectedFailure] = field(default_factory=dict)
    # (host, target) pairs that must never be requested, with the reason shown if they are
    forbidden: dict[tuple[str, str], str] = field(default_factory=dict)
    # rules for families of targets that must never be requested: (host, predicate, reason)
    forbidden_rules: list[tuple[str, Callable[[str], bool], str]] = field(default_factory=list)
    in_scope: tuple[str, ...] = ()

    def why_forbidden(self, host: str, target: str) -> str | None:
        if host not in self.in_scope:
            return f"host {host!r} is not the origin of any seed URL, so it is out of scope"
        reason = self.forbidden.get((host, target))
        if reason is not None:
            return reason
        for rule_host, predicate, rule_reason in self.forbidden_rules:
            if rule_host == host and predicate(target):
                return rule_reason
        return None


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def page_html(
    title: str, heading: str, paragraphs: list[str], links: list[tuple[str, str]]
) -> bytes:
    """A page as a real CMS writes one: the title spread over lines, an entity, navigation
    links that lead nowhere new, a stylesheet <link> and links in a list."""
    items = "\n".join(
        f'  <li><A HREF="{html.escape(href)}">{html.escape(text)}</A></li>'
        if index % 7 == 3
        else f'  <li><a class="item" href="{html.escape(href)}">{html.escape(text)}</a></li>'
        for index, (href, text) in enumerate(links)
    )
    body = "\n".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
    document = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>
    {html.escape(title)}
</title>
<link rel="stylesheet" href="/static/site.css">
</head>
<body id="top">
<nav>
  <a href="/">Home</a> <a href="#top">Back to top</a> <a href="">This page</a>
  <a href="mailto:orders@northwind.test">Email the order desk</a>
  <a href="tel:+15550100">Call us</a> <a href="javascript:void(0)">Menu</a> <a>Account</a>
</nav>
<h1>{html.escape(heading)}</h1>
{body}
<ul>
{items}
</ul>
</body>
</html>
"""
    return document.encode()


def clean_title(title: str) -> str:
    return re.sub(r"\s+", " ", title).strip()


class Catalogue:
    """Builds the catalogue site into a LocalSite whose servers are already listening."""

    def __init__(
        self, site: LocalSite, pages_per_host: int, seed: int, slow_share: float, latency: float
    ) -> None:
        self.site = site
        self.n = pages_per_host
        self.rng = random.Random(seed)
        self.slow_share = slow_share
        self.latency = latency
        self.paragraphs = [
            " ".join(self.rng.choices(WORDS, k=self.rng.randint(40, 70))).capitalize() + "."
            for _ in range(48)
        ]
        self.plan = Plan(
            site,
            seeds=[site.url("a", "/"), site.url("b", "/")],
            in_scope=("a", "b"),
        )
        # extra links each page carries besides its tree children: page path -> [(host, target)]
        self.extra: dict[tuple[str, str], list[tuple[str, str]]] = {}

    @staticmethod
    def path(index: int) -> str:
        return "/" if index == 0 else f"/p/{index}"

    def href(self, src_host: str, src_path: str, host: str, target: str) -> str:
        """One of the many ways to write a link to (host, target) on page (src_host, src_path)."""
        port = self.site.ports[host]
        absolute = f"http://127.0.0.1:{port}{target}"
        if host != src_host:
            return self.rng.choice(
                [absolute, f"//127.0.0.1:{port}{target}", f"HTTP://127.0.0.1:{port}{target}"]
            )
        forms = [
            target,
            target,
            f"{target}#details",
            f"{target}?",
            absolute,
            f"HTTP://127.0.0.1:{port}{target}",
            f"//127.0.0.1:{port}{target}",
            f"  {target}\n",
        ]
        if target.startswith("/p/"):
            name = target.removeprefix("/p/")
            if src_path.startswith("/p/"):
                forms += [
                    name,
                    f"./{name}",
                    f"../p/{name}",
                    f"/p/./{name}",
                    f"/p/archive/../{name}",
                ]
            elif src_path == "/":
                forms += [f"p/{name}", f"./p/{name}"]
        return self.rng.choice(forms)

    def link_from_random_page(self, host: str, target_host: str, target: str) -> None:
        source = self.path(self.rng.randrange(1, self.n))
        self.extra.setdefault((host, source), []).append((target_host, target))

    def build(self, specials: bool) -> Plan:
        for host in ("a", "b"):
            other = "b" if host == "a" else "a"
            for _ in range(self.n // 25):
                self.link_from_random_page(host, "x", f"/p/{self.rng.randrange(1, 50)}")
            for _ in range(self.n // 10):
                self.link_from_random_page(host, other, self.path(self.rng.randrange(1, self.n)))
            self.link_from_random_page(host, host, f"/discontinued/{host}-{self.rng.randrange(99)}")
        self.site.add("a", "/robots.txt", Resource(ROBOTS_A.encode(), "text/plain; charset=utf-8"))
        if specials:
            self.add_specials()
        for host in ("a", "b"):
            for index in range(self.n):
                self.add_page(host, index)
        for host, target in self.plan.forbidden:
            if target not in self.site.resources[host]:
                # Serve forbidden targets too, so that fetching one is a visible mistake.
                self.site.add(host, target, self.document(host, target, "Not for crawlers", []))
        return self.plan

    def document(
        self, host: str, target: str, title: str, links: list[tuple[str, str]]
    ) -> Resource:
        paragraphs = self.rng.sample(self.paragraphs, 4)
        hrefs = [(self.href(host, target, h, t), f"{t} on {h}") for h, t in links]
        body = page_html(title, title.split(" — ")[-1], paragraphs, hrefs)
        return Resource(body)

    def add_page(self, host: str, index: int) -> None:
        target = self.path(index)
        children = [(host, self.path(c)) for c in range(4 * index + 1, 4 * index + 5) if c < self.n]
        siblings = [(host, self.path(self.rng.randrange(1, self.n))) for _ in range(3)]
        links = children + siblings + self.extra.get((host, target), [])
        self.rng.shuffle(links)
        title = f"Northwind Wholesale & Supply — {host.upper()}-{index}"
        resource = self.document(host, target, title, links)
        if index and self.rng.random() < self.slow_share:
            resource.delay = round(self.rng.uniform(0.2, 0.6), 3)
        elif self.latency:
            resource.delay = round(self.rng.uniform(0.25, 1.0) * self.latency, 4)
        self.site.add(host, target, resource)
        self.plan.pages[self.site.url(host, target)] = Expected(title, sha256(resource.body))

    def expect_page(self, host: str, target: str, title: str, links: list[tuple[str, str]]) -> None:
        resource = self.document(host, target, title, links)
        self.site.add(host, target, resource)
        self.plan.pages[self.site.url(host, target)] = Expected(
            clean_title(title), sha256(resource.body)
        )

    def expect_redirect(
        self, host: str, target: str, code: int, location: str, resolved: str
    ) -> None:
        self.site.add(host, target, redirect(location, code))
        self.plan.redirects[self.site.url(host, target)] = resolved

    def add_specials(self) -> None:
        site, plan, url = self.site, self.plan, self.site.url
        robots = "robots.txt disallows it for the scraper's User-Agent"
        # Slow reports, all linked from one page: a crawler without a per-host cap starts
        # them all at once, so this is where the cap is put to the test.
        reports = [("b", f"/reports/{month}") for month in range(1, REPORTS + 1)]
        self.expect_page("b", "/reports", "Monthly reports", reports)
        for _, target in reports:
            self.expect_page("b", target, f"Report {target.rsplit('/', 1)[-1]}", [])
            self.site.resources["b"][target].delay = 0.4
        self.extra.setdefault(("b", "/"), []).append(("b", "/reports"))
        # Allowed for this bot (only the '*' group disallows /drafts/): its own group applies.
        for name in ("spring-catalogue", "price-list"):
            self.expect_page("a", f"/drafts/{name}", f"Draft: {name}", [])
            self.link_from_random_page("a", "a", f"/drafts/{name}")
        for target in ("/members/orders", "/members/invoices", "/search?q=invoices"):
            plan.forbidden[("a", target)] = robots
            self.link_from_random_page("a", "a", target)
        self.expect_page("a", "/members/public/about", "About our members' programme", [])
        self.link_from_random_page("a", "a", "/members/public/about")
        # Query strings are part of the URL: two distinct pages.
        self.expect_page("a", "/catalog?page=1", "Catalog, page 1", [("a", "/catalog?page=2")])
        self.expect_page("a", "/catalog?page=2", "Catalog, page 2", [])
        self.link_from_random_page("a", "a", "/catalog?page=1")
        # Only HTML is parsed for links: this text file's markup is not a link.
        text = b'Price list 2025. Old site: <a href="/p/from-text">archive</a>\n'
        site.add("a", "/files/price-list.txt", Resource(text, "text/plain; charset=utf-8"))
        plan.pages[url("a", "/files/price-list.txt")] = Expected(None, sha256(text))
        plan.forbidden[("a", "/p/from-text")] = "it only appears inside a text/plain file"
        self.link_from_random_page("a", "a", "/files/price-list.txt")
        logo = bytes(range(256)) * 8
        site.add("a", "/files/logo.png", Resource(logo, "image/png"))
        plan.pages[url("a", "/files/logo.png")] = Expected(None, sha256(logo))
        self.link_from_random_page("a", "a", "/files/logo.png")
        plan.forbidden[("a", "/static/site.css")] = "it is a <link href>, not an <a href>"
        plan.forbidden[("b", "/static/site.css")] = "it is a <link href>, not an <a href>"
        # A huge page: 120,000 links (to the catalogue's own pages), about 5 MB. Parsing it
        # takes seconds of CPU, during which the crawl must go on.
        items = "".join(
            f'<li><a href="{self.path(i % self.n)}">Item {i}</a></li>\n' for i in range(120_000)
        )
        sitemap = page_html(SITEMAP_TITLE, "Sitemap", [], []).replace(
            b"<ul>\n", b"<ul>\n" + items.encode(), 1
        )
        site.add("a", "/sitemap", Resource(sitemap))
        plan.pages[url("a", "/sitemap")] = Expected(SITEMAP_TITLE, sha256(sitemap))
        self.extra.setdefault(("a", "/"), []).append(("a", "/sitemap"))
        # Redirects.
        self.expect_redirect("a", "/old/catalogue", 301, "/p/7", url("a", "/p/7"))
        self.expect_redirect("a", "/promo", 302, "/hidden/offer", url("a", "/hidden/offer"))
        self.expect_page("a", "/hidden/offer", "Spring offer", [])
        self.expect_redirect(
            "a", "/r/relative", 303, "../hidden/relative", url("a", "/hidden/relative")
        )
        self.expect_page("a", "/hidden/relative", "Reached through a relative Location", [])
        self.expect_redirect("a", "/r/loop/a", 302, "/r/loop/b", url("a", "/r/loop/b"))
        self.expect_redirect("a", "/r/loop/b", 302, url("a", "/r/loop/a"), url("a", "/r/loop/a"))
        self.expect_redirect(
            "a", "/r/to-members", 301, "/members/orders", url("a", "/members/orders")
        )
        self.expect_redirect("a", "/r/cross", 308, url("b", "/p/5"), url("b", "/p/5"))
        self.expect_redirect("a", "/r/outside", 301, url("x", "/p/1"), url("x", "/p/1"))
        for target in ("/old/catalogue", "/promo", "/r/relative", "/r/loop/a", "/r/to-members"):
            self.link_from_random_page("a", "a", target)
        self.link_from_random_page("a", "a", "/r/cross")
        self.link_from_random_page("a", "a", "/r/outside")
        # An endless chain: /r/chain/k redirects to /r/chain/k+1. With --max-redirects 3 the
        # scraper follows three redirects from /r/chain/0 and gives up at /r/chain/3.
        site.dynamic["a"].append(chain_rule)
        self.link_from_random_page("a", "a", "/r/chain/0")
        for k in range(3):
            plan.redirects[url("a", f"/r/chain/{k}")] = url("a", f"/r/chain/{k + 1}")
        plan.failures[url("a", "/r/chain/3")] = ExpectedFailure("too_many_redirects", 302, 1)
        plan.forbidden_rules.append(
            ("a", lambda t: chain_step(t) >= 4, "it is past the --max-redirects 3 cap")
        )
        # Missing pages: one attempt each, never retried (finish_missing() records them).
        for target in ("/discontinued/1", "/discontinued/2"):
            self.link_from_random_page("a", "a", target)

    def finish_missing(self) -> None:
        for links in self.extra.values():
            for host, target in links:
                if target.startswith("/discontinued/") and host in ("a", "b"):
                    self.plan.failures[self.site.url(host, target)] = ExpectedFailure(
                        "http_status", 404, 1
                    )


def chain_step(target: str) -> int:
    match = re.fullmatch(r"/r/chain/(\d+)", target)
    return int(match.group(1)) if match else -1


def chain_rule(target: str) -> Resource | None:
    step = chain_step(target)
    return redirect(f"/r/chain/{step + 1}", 302) if step >= 0 else None


def catalogue(
    site: LocalSite, pages_per_host: int, specials: bool, slow_share: float, latency: float = 0.0
) -> Plan:
    """Fill `site` (hosts a, b and x, listening) with the catalogue; return what to expect.

    slow_share of the pages take 0.2-0.6 s to answer; with latency L, every other page takes
    between L/4 and L, like a server across a network.
    """
    builder = Catalogue(site, pages_per_host, seed=20250602, slow_share=slow_share, latency=latency)
    plan = builder.build(specials)
    builder.finish_missing()
    return plan


TROUBLE_PAGES = 120  # each takes 20 ms: 0.6 s of work for 4 connections


def trouble(site: LocalSite) -> Plan:
    """Fill host "t" with resources that fail in scripted ways.

    The suite crawls it with --max-attempts 3, --backoff-base 0.2 and --request-timeout 1.
    """
    plan = Plan(site, seeds=[site.url("t", "/")], in_scope=("t",))
    scripted: dict[str, tuple[Resource, Expected | ExpectedFailure]] = {}

    def served(target: str, *script: Step) -> None:
        body = page_html(f"Order desk {target}", target, [f"Resource {target}."], [])
        resource = Resource(body, script=script)
        scripted[target] = (resource, Expected(f"Order desk {target}", sha256(body)))

    def failing(target: str, expected: ExpectedFailure, *script: Step) -> None:
        body = page_html(f"Broken {target}", target, ["Never complete."], [])
        resource = Resource(body, script=script)
        scripted[target] = (resource, expected)

    served("/throttled", status(429, retry_after=1), SERVE)
    served("/flaky", status(503), status(503), SERVE)
    served("/hang-once", hang(2.5), SERVE)
    served("/reset-once", RESET, SERVE)
    served("/cut-once", CUT, SERVE)
    failing("/broken", ExpectedFailure("http_status", 503, 3), status(503))
    failing("/hang", ExpectedFailure("timeout", None, 3), hang(2.5))
    failing("/cut", ExpectedFailure("connection", None, 3), CUT)
    failing("/reset", ExpectedFailure("connection", None, 3), RESET)
    failing("/missing", ExpectedFailure("http_status", 404, 1), status(404))
    failing("/gone", ExpectedFailure("http_status", 410, 1), status(410))
    links = [*scripted, *(f"/p/{i}" for i in range(1, TROUBLE_PAGES + 1))]
    home = page_html(
        "Order desk", "Order desk", ["Everything the desk handles."], [(t, t) for t in links]
    )
    site.add("t", "/", Resource(home))
    plan.pages[site.url("t", "/")] = Expected("Order desk", sha256(home))
    for target, (resource, expected) in scripted.items():
        site.add("t", target, resource)
        if isinstance(expected, Expected):
            plan.pages[site.url("t", target)] = expected
        else:
            plan.failures[site.url("t", target)] = expected
    for i in range(1, TROUBLE_PAGES + 1):
        body = page_html(f"Ticket {i}", f"Ticket {i}", ["Resolved."], [("/", "desk")])
        site.add("t", f"/p/{i}", Resource(body, delay=0.02))
        plan.pages[site.url("t", f"/p/{i}")] = Expected(f"Ticket {i}", sha256(body))
    return plan
