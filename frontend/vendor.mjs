// Build the browser files the web app serves into its static folder: copied or bundled from
// node_modules at install time, so nothing is fetched at run time.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, "..", "src", "pymastery", "web", "static", "vendor");
mkdirSync(target, { recursive: true });

copyFileSync(join(here, "node_modules/htmx.org/dist/htmx.min.js"), join(target, "htmx.min.js"));
await build({
  entryPoints: [join(here, "editor.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  outfile: join(target, "editor.min.js"),
  logLevel: "warning",
});
console.log(`vendored htmx.min.js and editor.min.js into ${target}`);
