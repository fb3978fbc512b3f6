// The exercise editor: CodeMirror 6 with Python highlighting, bundled by esbuild at build time.
import { EditorView, basicSetup } from "codemirror";
import { python } from "@codemirror/lang-python";
import { HighlightStyle, indentUnit, syntaxHighlighting } from "@codemirror/language";
import { tags } from "@lezer/highlight";
import { keymap } from "@codemirror/view";
import { indentWithTab } from "@codemirror/commands";

// Token colours with at least 4.5:1 contrast on white (WCAG AA); CodeMirror's defaults fall short.
const readableHighlighting = HighlightStyle.define([
  { tag: [tags.keyword, tags.operatorKeyword, tags.controlKeyword], color: "#7a1fa2" },
  { tag: [tags.string, tags.special(tags.string)], color: "#a31515" },
  { tag: [tags.comment, tags.lineComment, tags.blockComment], color: "#4d5562", fontStyle: "italic" },
  { tag: [tags.number, tags.bool, tags.null, tags.atom], color: "#0b6e4f" },
  { tag: [tags.definition(tags.variableName), tags.function(tags.definition(tags.variableName))],
    color: "#1f4fa3" },
  { tag: [tags.className, tags.typeName], color: "#8a4b00" },
  { tag: [tags.meta, tags.annotation], color: "#5c4a00" },
  { tag: tags.invalid, color: "#b3261e" },
]);

// CodeMirror injects its stylesheet; the page's CSP nonce (from data-csp-nonce) lets it in.
window.pymasteryEditor = (textarea) => {
  const view = new EditorView({
    doc: textarea.value,
    extensions: [EditorView.cspNonce.of(textarea.dataset.cspNonce || ""), basicSetup, python(), indentUnit.of("    "), keymap.of([indentWithTab]),
      // Wrap long lines and grow with the file: no inner scroll region for keyboard users to trap in.
      EditorView.lineWrapping,
      syntaxHighlighting(readableHighlighting),
      EditorView.contentAttributes.of({ "aria-label": textarea.getAttribute("aria-label") || "Code editor" }),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) textarea.value = update.state.doc.toString();
      })],
  });
  textarea.style.display = "none";
  textarea.after(view.dom);
  window.pymasteryEditorView = view;  // for tests and keyboard shortcuts
  return view;
};
