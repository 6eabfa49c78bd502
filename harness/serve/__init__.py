"""`harness serve`: a dashboard and a read-only Results API over run directories and the history.

Layout, in the order a request flows:

    security    the ASGI middleware every request passes first: Host allowlist, Sec-Fetch-Site,
                the token, GET/HEAD only, traversal, and the headers every answer carries
    app         routes: the REST API (JSON, paginated, stable error codes) and the pages
    index       run directories found under the served folder, by run id (never a client path)
    lines       results.jsonl and other JSONL files read as complete lines from a byte offset
    tally       a run's counts and per (case, model) cells, fed incrementally as lines arrive
    cards       the one-line view of a run (status, pass rate, cost, wall time, live or not)
    matrix      the case x model matrix with its statistics, filters, sorting and pages
    attempts    one attempt: its result line, transcript and stderr tail; the attempts list
    search      full-text search over transcripts and results
    compare     two runs side by side: regressed, fixed, still failing, new, removed; paired test
    history     one case over past runs, from the history database opened read-only
    server      the socket (loopback, busy ports skipped) and uvicorn, Ctrl+C exits 130
    static/     the pages' HTML, CSS and JavaScript (ES modules, no build step) and vendored uPlot

Memory grows with cases x models and with the number of runs, never with a run's attempts:
results are streamed and paginated, and tallies are fed from a byte offset.
"""
