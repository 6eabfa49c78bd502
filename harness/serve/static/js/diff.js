// Diffs for people: a structural diff of two JSON values (expected vs observed), a line diff of
// two texts, and a diff of two sequences (tool calls). Output is DOM built from text nodes.

import { h } from "./dom.js";

// Longest common subsequence over two arrays, by `same`; returns [op, a, b] steps.
export function lcs(a, b, same = (x, y) => x === y) {
  const n = a.length;
  const m = b.length;
  if (n * m > 4_000_000) return [...a.map((x) => ["del", x, null]), ...b.map((y) => ["add", null, y])];
  const table = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      table[i][j] = same(a[i], b[j]) ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
    }
  }
  const steps = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (same(a[i], b[j])) { steps.push(["same", a[i], b[j]]); i += 1; j += 1; }
    else if (table[i + 1][j] >= table[i][j + 1]) { steps.push(["del", a[i], null]); i += 1; }
    else { steps.push(["add", null, b[j]]); j += 1; }
  }
  while (i < n) { steps.push(["del", a[i], null]); i += 1; }
  while (j < m) { steps.push(["add", null, b[j]]); j += 1; }
  return steps;
}

function row(kind, sign, ...content) {
  return h("div", { class: `row ${kind}` }, h("span", { class: "sign" }, sign), h("span", {}, ...content));
}

export function textDiff(before, after) {
  const a = String(before ?? "").split("\n");
  const b = String(after ?? "").split("\n");
  const steps = lcs(a, b);
  if (steps.every(([op]) => op === "same")) return h("div", { class: "diff" }, row("same", " ", "identical"));
  return h("div", { class: "diff" }, steps.map(([op, x, y]) => (op === "same" ? row("same", " ", x) : op === "del" ? row("del", "−", x) : row("add", "+", y))));
}

export function sequenceDiff(before, after, label = (x) => x) {
  const steps = lcs(before.map(label), after.map(label));
  if (!steps.length) return h("div", { class: "diff" }, row("same", " ", "no calls on either side"));
  return h("div", { class: "diff" }, steps.map(([op, x, y]) => (op === "same" ? row("same", " ", x) : op === "del" ? row("del", "−", x) : row("add", "+", y))));
}

const show = (value) => (value === undefined ? "(absent)" : JSON.stringify(value));

// Leaves that differ between `expected` and `observed`, by JSON path.
export function structuralDiff(expected, observed) {
  const changes = [];
  function walk(a, b, where) {
    if (changes.length > 400) return;
    const bothObjects = a && b && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b);
    if (!bothObjects) {
      if (JSON.stringify(a) !== JSON.stringify(b)) changes.push([where || "$", a, b]);
      return;
    }
    const keys = Array.isArray(a) ? [...Array(Math.max(a.length, b.length)).keys()] : [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const key of keys) walk(a[key], b[key], Array.isArray(a) ? `${where || "$"}[${key}]` : `${where || "$"}.${key}`);
  }
  walk(expected, observed, "");
  if (!changes.length) return h("div", { class: "diff" }, row("same", " ", "expected and observed are equal"));
  return h("div", { class: "diff" }, changes.flatMap(([where, a, b]) => {
    if (a === undefined) return [row("add", "+", h("span", { class: "path" }, where), show(b))];
    if (b === undefined) return [row("del", "−", h("span", { class: "path" }, where), show(a))];
    return [row("del", "−", h("span", { class: "path" }, where), show(a)), row("add", "+", h("span", { class: "path" }, where), show(b))];
  }));
}
