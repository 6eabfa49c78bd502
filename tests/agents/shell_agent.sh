#!/bin/sh
# A POSIX sh agent (no bash, no jq): proof that any language that reads and writes lines works.
# task_start input {"city": "..."} -> one get_weather call -> final_output that embeds the
# tool_result line verbatim (it is a JSON object, so no JSON parsing is needed here).
set -u

IFS= read -r task || { echo "shell_agent: no task_start on stdin" >&2; exit 4; }
case $task in
    *'"type":"task_start"'*|*'"type": "task_start"'*) ;;
    *) echo "shell_agent: first line is not task_start: $task" >&2; exit 4 ;;
esac

# The city is a plain word in the tests; sed is enough to pull it out.
city=$(printf '%s\n' "$task" | sed -n 's/.*"city" *: *"\([^"\\]*\)".*/\1/p')
[ -n "$city" ] || { echo "shell_agent: task input has no city" >&2; exit 4; }
echo "shell_agent: looking up $city" >&2

printf '{"type":"tool_call","name":"get_weather","call_id":"w1","args":{"city":"%s"}}\n' "$city"

IFS= read -r result || { echo "shell_agent: stdin closed before tool_result" >&2; exit 4; }
case $result in
    *'"ok":true'*|*'"ok": true'*) ok=true ;;
    *) ok=false ;;
esac

printf '{"type":"final_output","output":{"city":"%s","ok":%s,"tool_result":%s}}\n' \
    "$city" "$ok" "$result"
