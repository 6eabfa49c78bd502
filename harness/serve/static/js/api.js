// The Results API from the pages: JSON in, errors with their stable codes out.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function get(url, { signal } = {}) {
  const response = await fetch(url, { signal, headers: { accept: "application/json" }, credentials: "same-origin" });
  if (!response.ok) {
    let code = "http_error";
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      code = body.error.code;
      message = body.error.message;
    } catch (_) { /* not our JSON */ }
    throw new ApiError(response.status, code, message);
  }
  return response.json();
}

// Polls `url()` every `seconds` with If-None-Match: a 304 costs the server a stat() and no
// reading. `handle(body)` gets each new answer. Stops when `stop()` is called or the page moves.
export function poll(url, handle, seconds = 1) {
  let etag = null;
  let stopped = false;
  let timer = null;
  async function tick() {
    if (stopped) return;
    try {
      const headers = { accept: "application/json" };
      if (etag) headers["if-none-match"] = etag;
      const response = await fetch(url(), { headers, credentials: "same-origin", cache: "no-store" });
      if (response.status === 200) {
        etag = response.headers.get("etag");
        const body = await response.json();
        const again = handle(body);
        if (again) etag = null;
      }
    } catch (_) { /* the server may be restarting: try again on the next tick */ }
    if (!stopped) timer = setTimeout(tick, seconds * 1000);
  }
  timer = setTimeout(tick, 0);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
