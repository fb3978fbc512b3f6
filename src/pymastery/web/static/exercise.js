// Swap the plain textarea for the CodeMirror editor; Ctrl/Cmd+Enter checks.
document.addEventListener("DOMContentLoaded", () => {
  const textarea = document.getElementById("source");
  if (textarea && window.pymasteryEditor) window.pymasteryEditor(textarea);
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      const form = document.getElementById("check-form");
      if (form) htmx.trigger(form, "submit");
    }
  });
});
