// The router: the URL is the whole state of a view (filters included), so every view is a deep
// link. Links marked data-nav, and every same-origin link inside #app, move without a reload.

import { clear, errorBox } from "./dom.js";
import { renderRuns } from "./runs.js";
import { renderRun } from "./run.js";
import { renderAttempt } from "./attempt.js";
import { renderCompare } from "./compare.js";
import { renderCase } from "./case.js";

const app = document.getElementById("app");
let cleanup = [];

function decode(segment) {
  return segment.split("/").map(decodeURIComponent).join("/");
}

function route(pathname) {
  let match;
  if (pathname === "/" || pathname === "") return ["runs", renderRuns, {}];
  if ((match = pathname.match(/^\/runs\/([^/]+)\/attempts\/(.+)$/))) {
    return ["runs", renderAttempt, { runId: decode(match[1]), attempt: decode(match[2]) }];
  }
  if ((match = pathname.match(/^\/runs\/([^/]+)\/?$/))) return ["runs", renderRun, { runId: decode(match[1]) }];
  if (pathname === "/compare") return ["compare", renderCompare, {}];
  if ((match = pathname.match(/^\/cases\/(.+)$/))) return ["runs", renderCase, { caseId: decode(match[1]) }];
  return null;
}

// What a view gets: where to draw, the query, and ways to change the URL.
function context(params) {
  return {
    app,
    params,
    query: new URLSearchParams(location.search),
    // Replace the query (filters) without a new history entry for every keystroke.
    setQuery(values, { push = false } = {}) {
      const query = new URLSearchParams(location.search);
      for (const [key, value] of Object.entries(values)) {
        if (value === null || value === undefined || value === "") query.delete(key);
        else query.set(key, value);
      }
      const text = query.toString();
      const url = location.pathname + (text ? `?${text}` : "");
      (push ? history.pushState : history.replaceState).call(history, null, "", url);
      return new URLSearchParams(text);
    },
    onLeave(fn) {
      cleanup.push(fn);
    },
    navigate,
    refresh: render,
  };
}

async function render() {
  for (const fn of cleanup.splice(0)) fn();
  const found = route(location.pathname);
  for (const link of document.querySelectorAll(".topnav a")) {
    link.classList.toggle("current", found !== null && link.dataset.section === found[0]);
  }
  if (found === null) {
    clear(app, errorBox({ status: 404, message: `No page at ${location.pathname}` }));
    return;
  }
  const [, view, params] = found;
  try {
    await view(context(params));
  } catch (error) {
    clear(app, errorBox(error));
  }
}

export function navigate(url) {
  history.pushState(null, "", url);
  window.scrollTo(0, 0);
  render();
}

document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target.closest("a[href]");
  if (!link || link.target || link.origin !== location.origin) return;
  if (!link.hasAttribute("data-nav") && !app.contains(link)) return;
  if (link.pathname.startsWith("/api/") || link.pathname.startsWith("/static/")) return;
  event.preventDefault();
  navigate(link.pathname + link.search);
});
window.addEventListener("popstate", render);
render();
