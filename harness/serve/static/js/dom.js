// Building the page. Every string goes in as text (textContent or a Text node), never as HTML:
// case ids, outputs, tool arguments and stderr come from agents and are hostile. There is no
// innerHTML anywhere in these scripts.

const SVG_NS = "http://www.w3.org/2000/svg";

function place(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// h("a", {class: "x", href: "/runs/1"}, "text", child...). Attributes are set one by one;
// `on*` attributes are refused (handlers go through `on`), and href must be a same-site path.
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  return place(node, children);
}

export function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  return place(node, children);
}

function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "on") {
      for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    } else if (name.startsWith("on")) {
      throw new Error("event handlers go through `on`");
    } else if (name === "href" && !String(value).startsWith("/")) {
      throw new Error("links stay on this server");
    } else if (name === "value" && "value" in node) {
      node.value = value;
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
}

export function clear(node, ...children) {
  node.replaceChildren();
  return place(node, children);
}

// A path built from segments, each percent-encoded: ids may hold any character.
export function path(...segments) {
  return "/" + segments.map((segment) => String(segment).split("/").map(encodeURIComponent).join("/")).join("/");
}

export function withQuery(base, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(key, value);
  }
  const text = query.toString();
  return text ? `${base}?${text}` : base;
}

export const fmt = {
  pct(value, digits = 0) {
    return value === null || value === undefined ? "–" : `${(value * 100).toFixed(digits)}%`;
  },
  ms(value) {
    if (value === null || value === undefined) return "–";
    if (value < 1000) return `${Math.round(value)} ms`;
    if (value < 60000) return `${(value / 1000).toFixed(value < 10000 ? 2 : 1)} s`;
    return fmt.seconds(value / 1000);
  },
  // Whole seconds: a run's start and end are stamped to the second, so "3.00 s" would claim a
  // precision the run folder does not have.
  seconds(value) {
    if (value === null || value === undefined) return "–";
    const whole = Math.round(value);
    if (whole < 60) return `${whole} s`;
    if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
    return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min`;
  },
  usd(value) {
    if (value === null || value === undefined) return "–";
    if (value === 0) return "$0";
    return value < 0.01 ? `$${value.toFixed(4)}` : `$${value.toFixed(value < 10 ? 3 : 2)}`;
  },
  num(value, digits = 0) {
    return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
  },
  int(value) {
    return value === null || value === undefined ? "–" : Number(value).toLocaleString("en-US");
  },
  when(text) {
    if (!text) return "–";
    const moment = new Date(text);
    if (Number.isNaN(moment.getTime())) return String(text);
    const seconds = (Date.now() - moment.getTime()) / 1000;
    if (seconds < 60) return "just now";
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
    if (seconds < 86400 * 14) return `${Math.floor(seconds / 86400)} d ago`;
    return moment.toISOString().slice(0, 10);
  },
  stamp(text) {
    if (!text) return "–";
    const moment = new Date(text);
    return Number.isNaN(moment.getTime()) ? String(text) : moment.toISOString().replace("T", " ").slice(0, 19) + "Z";
  },
  signed(value, formatter) {
    if (value === null || value === undefined) return "–";
    if (value === 0) return "±0";
    return (value > 0 ? "+" : "−") + formatter(Math.abs(value));
  },
};

export function pill(status, text = status) {
  const live = status === "running";
  return h("span", { class: `pill ${status}` }, live ? h("span", { class: "dot" }) : null, text);
}

export function rateBar(rate) {
  const bar = h("i");
  if (rate !== null && rate !== undefined) bar.style.width = `${Math.round(rate * 100)}%`;
  return h("span", { class: "rate" }, h("span", { class: "bar" }, bar), h("span", { class: "txt" }, fmt.pct(rate)));
}

export function tile(label, value, sub, tone) {
  return h("div", { class: `tile ${tone || ""}` }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), sub ? h("div", { class: "sub" }, sub) : null);
}

// Pretty JSON, coloured, as text nodes only.
export function jsonView(value, limit = 200000) {
  const pre = h("pre", { class: "json" });
  let budget = limit;
  const span = (cls, text) => {
    budget -= text.length;
    return h("span", { class: cls }, text);
  };
  function walk(item, indent) {
    if (budget < 0) return ["…"];
    if (item === null) return [span("j-lit", "null")];
    if (typeof item === "boolean") return [span("j-lit", String(item))];
    if (typeof item === "number") return [span("j-num", String(item))];
    if (typeof item === "string") return [span("j-str", JSON.stringify(item))];
    const pad = "  ".repeat(indent + 1);
    const end = "  ".repeat(indent);
    if (Array.isArray(item)) {
      if (!item.length) return ["[]"];
      const out = ["[\n"];
      item.forEach((element, i) => out.push(pad, ...walk(element, indent + 1), i < item.length - 1 ? ",\n" : "\n"));
      out.push(end, "]");
      return out;
    }
    const keys = Object.keys(item);
    if (!keys.length) return ["{}"];
    const out = ["{\n"];
    keys.forEach((key, i) => out.push(pad, span("j-key", JSON.stringify(key)), ": ", ...walk(item[key], indent + 1), i < keys.length - 1 ? ",\n" : "\n"));
    out.push(end, "}");
    return out;
  }
  return place(pre, walk(value, 0));
}

export function textBlock(text, cls = "text") {
  return h("pre", { class: cls }, text);
}

export function errorBox(error) {
  const [href, text] = wayOut();
  return h("div", { class: "panel" }, h("div", { class: "callout bad" },
    h("span", { class: "big" }, error.status === 404 ? "Not found" : "Could not load"),
    h("span", {}, error.message || String(error)),
    h("a", { class: "way-out", href }, text)));
}

// Where a page that failed to load sends people: the run it belongs to, else every run.
function wayOut() {
  const [section, runId, more] = location.pathname.split("/").filter(Boolean);
  const head = new URLSearchParams(location.search).get("head");
  if (section === "runs" && more) return [path("runs", decodeURIComponent(runId)), "Back to the run"];
  if (section === "compare" && head) return [path("runs", head), "Back to the run"];
  return ["/", "All runs"];
}
