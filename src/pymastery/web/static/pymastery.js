// htmx requests carry the CSRF token from its cookie, so pages hold nothing per user and can be
// rendered once and served to everyone. Shared pages (lessons) set no cookie: the first request
// waits until /csrf has set it.
const csrfCookie = () => document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
const csrfReady = csrfCookie() ? Promise.resolve() : fetch("/csrf", { credentials: "same-origin" });
document.addEventListener("htmx:confirm", (event) => {
  if (csrfCookie()) return;
  event.preventDefault();
  csrfReady.finally(() => event.detail.issueRequest(true));
});
document.addEventListener("htmx:configRequest", (event) => {
  const match = csrfCookie();
  if (match) event.detail.headers["X-CSRFToken"] = decodeURIComponent(match[1]);
});

// Copy buttons on every code block; Run buttons on examples in single-user mode.
document.addEventListener("DOMContentLoaded", () => {
  const lesson = document.querySelector("article.lesson");
  const canRun = lesson && lesson.dataset.canRun === "true";
  document.querySelectorAll("figure.code").forEach((figure) => {
    const bar = document.createElement("div");
    bar.className = "code-actions";
    const copy = document.createElement("button");
    copy.type = "button";
    copy.textContent = "Copy";
    copy.addEventListener("click", async () => {
      await navigator.clipboard.writeText(figure.querySelector("pre").innerText);
      copy.textContent = "Copied";
      setTimeout(() => (copy.textContent = "Copy"), 1500);
    });
    bar.append(copy);
    if (canRun && figure.dataset.kind === "source") {
      const run = document.createElement("button");
      run.type = "button";
      run.textContent = "Run";
      run.className = "run";
      const name = figure.dataset.example;
      const output = document.createElement("div");
      output.className = "run-slot";
      figure.after(output);
      run.addEventListener("click", () => {
        run.disabled = true;
        run.textContent = "Running…";
        htmx.ajax("POST", `/sections/${lesson.dataset.section}/examples/${name}/run`,
                  { target: output, swap: "innerHTML" }).finally(() => {
          run.disabled = false;
          run.textContent = "Run";
        });
      });
      bar.append(run);
    }
    figure.prepend(bar);
  });
});
