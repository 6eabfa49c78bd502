"""`harness report RUN_DIR`: rebuild reports from a run directory alone."""

from __future__ import annotations

from harness.cli import flags


def report_command(
    run_dir: flags.RunDirArg,
    html: flags.Html = None,
    junit: flags.Junit = None,
    sarif: flags.Sarif = None,
    markdown: flags.Markdown = None,
    open_page: flags.OpenBrowser = None,
) -> None:
    """Rebuild reports. With no --html/--junit/--sarif/--markdown, writes all four into
    RUN_DIR (report.html, junit.xml, sarif.json, report.md)."""
    # lazy: only this command pays for these (`harness --help` and other commands stay fast)
    from harness.errors import UsageError
    from harness.reports.rebuild import REPORT_FILES, load_run, write_reports
    from harness.storage.latest import resolve_run_dir

    run_dir = resolve_run_dir(run_dir)

    chosen = {"html": html, "junit": junit, "sarif": sarif, "markdown": markdown}
    targets = {kind: path for kind, path in chosen.items() if path is not None}
    if not targets:
        targets = {kind: run_dir / name for kind, name in REPORT_FILES.items()}
    if open_page and "html" not in targets:
        raise UsageError("--open needs an HTML report; add --html PATH")
    write_reports(load_run(run_dir), targets)
    for kind, path in targets.items():
        print(f"{kind}: {path}")
    if open_page:
        # lazy: only this command pays for these (`harness --help` and other commands stay fast)
        import webbrowser

        webbrowser.open(targets["html"].resolve().as_uri())
