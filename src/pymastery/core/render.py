"""Lessons to HTML: Markdown by markdown-it-py, code highlighted server-side by Pygments.

Example includes become the example file's own text (or its recorded output), wrapped in a
<figure> that names the example, so a shell can add a Run or Copy button around it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

from pymastery.core.lesson import parse_include, slice_lines
from pymastery.core.model import SectionContent


@dataclass(frozen=True)
class TocEntry:
    level: int
    text: str
    anchor: str


@dataclass(frozen=True)
class RenderedLesson:
    html: str
    toc: tuple[TocEntry, ...]


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


@cache
def formatter() -> HtmlFormatter[str]:
    return HtmlFormatter(nowrap=True)


def highlight_code(code: str, language: str) -> str:
    try:
        lexer = get_lexer_by_name(language or "text", stripnl=False)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False)
    return highlight(code, lexer, formatter())


def code_block(code: str, language: str, caption: str = "", attributes: str = "") -> str:
    figure_caption = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    language_class = html.escape(language or "text")
    return (
        f'<figure class="code"{attributes}>{figure_caption}'
        f'<pre class="highlight language-{language_class}" tabindex="0"><code>'
        f"{highlight_code(code, language)}</code></pre></figure>\n"
    )


@cache
def markdown() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False}).enable("table")
    parser.add_render_rule("table_open", open_scrollable_table)
    parser.add_render_rule("table_close", close_scrollable_table)
    parser.add_render_rule("th_open", aligned_cell)
    parser.add_render_rule("td_open", aligned_cell)
    return parser


def aligned_cell(renderer: Any, tokens: list[Token], index: int, options: Any, env: Any) -> str:
    """Column alignment as a class: our Content-Security-Policy forbids style attributes."""
    token = tokens[index]
    style = token.attrGet("style")
    if isinstance(style, str) and style.startswith("text-align:"):
        token.attrs.pop("style")
        token.attrJoin("class", "align-" + style.removeprefix("text-align:"))
    return str(renderer.renderToken(tokens, index, options, env))


def open_scrollable_table(
    renderer: Any, tokens: list[Token], index: int, options: Any, env: Any
) -> str:
    """Wide tables scroll inside a focusable region, so keyboard users can scroll them too."""
    return '<div class="table-scroll" tabindex="0" role="region" aria-label="Table">' + str(
        renderer.renderToken(tokens, index, options, env)
    )


def close_scrollable_table(
    renderer: Any, tokens: list[Token], index: int, options: Any, env: Any
) -> str:
    return str(renderer.renderToken(tokens, index, options, env)) + "</div>"


def render_markdown(text: str) -> str:
    """Markdown without includes (quiz questions, instructions): highlighted fences."""
    tokens = markdown().parse(text)
    for token in tokens:
        if token.type == "fence":
            token.type = "html_block"
            token.content = code_block(token.content, token.info.split()[0] if token.info else "")
    return str(markdown().renderer.render(tokens, markdown().options, {}))


def render_inline(text: str) -> str:
    """One line of Markdown (an option, a hint) without a wrapping paragraph."""
    return str(markdown().renderInline(text))


def render_lesson(content: SectionContent) -> RenderedLesson:
    tokens = markdown().parse(content.lesson)
    toc: list[TocEntry] = []
    used: set[str] = set()
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag in ("h2", "h3"):
            text = tokens[index + 1].content
            anchor = slugify(text)
            while anchor in used:
                anchor += "-"
            used.add(anchor)
            token.attrSet("id", anchor)
            toc.append(TocEntry(int(token.tag[1]), text, anchor))
        elif token.type == "fence":
            replace_fence(token, content)
    body = str(markdown().renderer.render(tokens, markdown().options, {}))
    return RenderedLesson(body, tuple(toc))


def replace_fence(token: Token, content: SectionContent) -> None:
    line = token.map[0] + 1 if token.map else 1
    include = parse_include(token.info, line, token.content)
    language = token.info.split()[0] if token.info.split() else ""
    token.type = "html_block"
    if include is None or isinstance(include, str):
        token.content = code_block(token.content, language)
        return
    example = content.example(include.target)
    supporting = content.supporting_file(include.target) if include.kind == "file" else None
    if supporting is not None:
        caption = supporting.name
        if include.lines:
            caption += f", lines {include.lines[0]}–{include.lines[1]}"
        source = slice_lines(supporting.read_text(encoding="utf-8"), include.lines)
        token.content = code_block(source, include.language, caption, ' data-kind="source"')
        return
    if example is None:
        token.content = code_block(f"(missing example {include.target})", "text")
        return
    data = f' data-example="{html.escape(example.name)}"'
    if include.kind == "file":
        source = content.example_path(example).read_text(encoding="utf-8")
        caption = example.file
        if include.lines:
            caption += f", lines {include.lines[0]}–{include.lines[1]}"
        token.content = code_block(
            slice_lines(source, include.lines), "python", caption, f' data-kind="source"{data}'
        )
    else:
        recorded = content.expected_output_path(example).read_text(encoding="utf-8")
        token.content = code_block(
            recorded, "text", f"Output of {example.file}", f' data-kind="output"{data}'
        )


def pygments_css(style: str = "default") -> str:
    css: str = HtmlFormatter(style=style).get_style_defs(".highlight")  # type: ignore[no-untyped-call]
    return css


def plain_text(text: str) -> str:
    """Markdown reduced to its words, for the search index."""
    tokens = markdown().parse(text)
    return " ".join(t.content for t in tokens if t.type in ("inline", "fence", "code_block"))
