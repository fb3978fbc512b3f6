// The exercise editor: CodeMirror 6 with Python highlighting, bundled by esbuild at build time.
import { EditorView, basicSetup } from "codemirror";
import { python } from "@codemirror/lang-python";
import { indentUnit } from "@codemirror/language";
import { keymap } from "@codemirror/view";
import { indentWithTab } from "@codemirror/commands";

window.pymasteryEditor = (textarea) => {
  const view = new EditorView({
    doc: textarea.value,
    extensions: [basicSetup, python(), indentUnit.of("    "), keymap.of([indentWithTab]),
      EditorView.contentAttributes.of({ "aria-label": textarea.getAttribute("aria-label") || "Code editor" }),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) textarea.value = update.state.doc.toString();
      })],
  });
  textarea.style.display = "none";
  textarea.after(view.dom);
  return view;
};
