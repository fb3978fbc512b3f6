"""The two pure functions at the heart of deduplication: normalize_url and parse_page.

They are imported from the package (`from scraper import ...`), so these tests run in
milliseconds and tell you exactly which rule is off before a crawl is involved.
"""

import pytest
from scraper import normalize_url, parse_page

BASE = "http://shop.example.test/catalog/items/widget.html"


SHOP = "http://shop.example.test"
# (rule, href, expected): the rule names the case in the report, so it starts with a capital.
CASES = [
    ("Relative path", "gadget.html", f"{SHOP}/catalog/items/gadget.html"),
    ("Parent directory, empty query", "../orders/?", f"{SHOP}/catalog/orders/"),
    ("Dot segments", "/a/./b/../c", f"{SHOP}/a/c"),
    ("Dot segments in an absolute URL", f"{SHOP}/a/./b/../../c", f"{SHOP}/c"),
    (
        "Case of scheme and host, default port",
        "HTTP://Shop.Example.TEST:80/Index.html",
        f"{SHOP}/Index.html",
    ),
    ("Default https port", "https://shop.example.test:443/cart", "https://shop.example.test/cart"),
    (
        "Other port kept",
        "https://shop.example.test:8443/cart",
        "https://shop.example.test:8443/cart",
    ),
    ("Scheme-relative", "//cdn.example.test/img", "http://cdn.example.test/img"),
    ("Fragment only", "#reviews", BASE),
    ("Empty href", "", BASE),
    ("Query only", "?page=2", f"{BASE}?page=2"),
    ("Query kept as written, fragment dropped", "widget.html?b=2&a=1#specs", f"{BASE}?b=2&a=1"),
    ("Surrounding whitespace", "  /search?q=bolts\n", f"{SHOP}/search?q=bolts"),
    ("Empty path", SHOP, f"{SHOP}/"),
    ("Percent-escapes", "/%7Euser/%2fdocs/%41", f"{SHOP}/~user/%2Fdocs/A"),
    ("Credentials dropped", "http://buyer:pw@shop.example.test/account", f"{SHOP}/account"),
    ("Mailto is not http", "mailto:orders@example.test", None),
    ("Javascript is not http", "javascript:void(0)", None),
    ("FTP is not http", "ftp://files.example.test/price-list.csv", None),
    ("Data is not http", "data:text/html,hello", None),
    ("Port that is not a number", "http://shop.example.test:port/", None),
]


@pytest.mark.parametrize(
    ("rule", "href", "expected"), [pytest.param(*case, id=case[0]) for case in CASES]
)
def test_normalize_url_follows_each_rule(rule: str, href: str, expected: str | None) -> None:
    got = normalize_url(href, BASE)
    assert got == expected, (
        f"normalize_url({href!r}, {BASE!r}) should be {expected!r} (rule: {rule.lower()}; see "
        f"'URL normalisation' in SPEC.md); got {got!r}"
    )


PAGE = """<!doctype html>
<html><head>
<title>
    Spring   catalogue &amp; price
    list
</title>
<link rel="stylesheet" href="/static/site.css">
<script src="/static/app.js">document.write('<a href="/p/from-script">x</a>')</script>
</head>
<body>
<nav><a href="/p/1">Fasteners</a> <A HREF="p/2#top">Brackets</A></nav>
<p>See also <a href="/p/1#again">fasteners again</a>, <a href="mailto:desk@example.test">the
desk</a>, <a>a placeholder</a> and <a class="ext" href="https://supplier.example.test/x">our
supplier</a>.</p>
<img src="/static/logo.png" alt="logo"><map><area href="/p/map" alt="map"></map>
<a href=" /p/3 ">Hinges</a>
<title>A second title is ignored</title>
</body></html>
"""


def test_parse_page_finds_the_title_and_the_a_href_links_in_order() -> None:
    page = parse_page(PAGE, "http://shop.example.test/catalog/index.html")
    assert page.title == "Spring catalogue & price list", (
        "the title is the text of the first <title>, entities decoded, each run of whitespace "
        f"collapsed to one space, stripped; got {page.title!r}"
    )
    assert page.links == [
        "http://shop.example.test/p/1",
        "http://shop.example.test/catalog/p/2",
        "https://supplier.example.test/x",
        "http://shop.example.test/p/3",
    ], (
        "links are the href of every <a> (any case), normalised with normalize_url against "
        "the page URL, non-http ones dropped, duplicates removed, in document order; <link>, "
        "<script>, <img>, <area> and markup inside a script are not links; got "
        f"{page.links!r}"
    )


def test_parse_page_copes_with_a_page_without_title_or_links() -> None:
    bare = parse_page("<p>Out of stock.<p>Back soon", "http://shop.example.test/")
    assert (bare.title, bare.links) == (None, []), (
        f"no <title> means title None, and no <a href> means no links; got {bare}"
    )
    blank = parse_page("<title>  \n </title><a href='#top'>top</a>", "http://shop.example.test/x")
    assert blank.title is None, f"a <title> of only whitespace is no title; got {blank.title!r}"
    assert blank.links == ["http://shop.example.test/x"], (
        f"'#top' is the page itself once the fragment is removed; got {blank.links!r}"
    )
