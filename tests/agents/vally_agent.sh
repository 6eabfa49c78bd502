#!/bin/sh
# The POSIX sh agent of the Vally tests (no bash, no jq): it edits its workspace (shell.txt),
# calls the MCP tool get_current_time when the task offers it, and answers with the tool's
# result line embedded (a JSON object, so no JSON parsing is needed here).
set -u

IFS= read -r task || { echo "vally_agent.sh: no task_start on stdin" >&2; exit 4; }
case $task in
    *'"type":"task_start"'*) ;;
    *) echo "vally_agent.sh: first line is not task_start" >&2; exit 4 ;;
esac

printf 'written by the shell agent\n' > shell.txt
echo "vally_agent.sh: wrote $(pwd)/shell.txt" >&2

case $task in
    *'"get_current_time"'*)
        printf '{"type":"tool_call","name":"get_current_time","call_id":"t1","args":{"timezone":"UTC"}}\n'
        IFS= read -r result || { echo "vally_agent.sh: no tool_result" >&2; exit 4; }
        ;;
    *) result='null' ;;
esac

printf '{"type":"final_output","output":{"message":"shell agent wrote shell.txt","tool_result":%s}}\n' "$result"
