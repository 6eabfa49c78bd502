// A tool-using agent on Node's official `openai` package, speaking harness's protocol (JSON
// lines on stdin/stdout, protocol 1: one task per process). `new OpenAI()` reads
// OPENAI_BASE_URL and OPENAI_API_KEY from the environment harness gives it.
//
//   node agent.mjs            (npm ci in this folder first; package-lock.json pins openai)
//
// Task input: {"prompt": str, "tools": [{name, description, parameters}], "model": str,
// "stream": bool}. Final output: {"answer": str, "tools_used": [name, ...], "model_turns": n}.
import OpenAI from "openai";
import readline from "node:readline";

const SYSTEM = "You are a careful assistant. Use the tools to look facts up; never guess them.";
const MAX_TURNS = 8;
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

function send(message) {
  process.stdout.write(JSON.stringify(message) + "\n");
}

async function receive() {
  const { value, done } = await lines.next();
  if (done) throw new Error("stdin closed while waiting for the runner");
  return JSON.parse(value);
}

let calls = 0;
async function callTool(name, args) {
  calls += 1;
  const callId = `node-${calls}`;
  send({ type: "tool_call", name, call_id: callId, args });
  const reply = await receive();
  if (reply.type !== "tool_result" || reply.call_id !== callId) {
    throw new Error(`expected the tool_result of ${callId}, got ${JSON.stringify(reply)}`);
  }
  return reply.ok ? reply.result : { error: reply.error };
}

// A stream accumulated by hand: content deltas, and tool calls by their index.
async function fromStream(stream) {
  let content = "";
  const toolCalls = [];
  for await (const chunk of stream) {
    for (const choice of chunk.choices) {
      content += choice.delta.content ?? "";
      for (const delta of choice.delta.tool_calls ?? []) {
        const call = (toolCalls[delta.index] ??= {
          id: "",
          type: "function",
          function: { name: "", arguments: "" },
        });
        call.id = delta.id ?? call.id;
        call.function.name += delta.function?.name ?? "";
        call.function.arguments += delta.function?.arguments ?? "";
      }
    }
  }
  return { role: "assistant", content: content || null, tool_calls: toolCalls };
}

async function ask(client, input, messages) {
  const request = { model: input.model ?? "gpt-4o-mini", messages };
  if (input.tools?.length) {
    request.tools = input.tools.map((tool) => ({ type: "function", function: tool }));
  }
  if (input.stream) {
    return fromStream(await client.chat.completions.create({ ...request, stream: true }));
  }
  const completion = await client.chat.completions.create(request);
  const message = completion.choices[0].message;
  return { role: "assistant", content: message.content, tool_calls: message.tool_calls ?? [] };
}

async function solve(input) {
  const client = new OpenAI();
  const messages = [
    { role: "system", content: SYSTEM },
    { role: "user", content: input.prompt },
  ];
  const used = [];
  for (let turn = 1; turn <= MAX_TURNS; turn += 1) {
    const message = await ask(client, input, messages);
    if (message.tool_calls.length === 0) {
      return { answer: message.content, tools_used: used, model_turns: turn };
    }
    messages.push(message);
    for (const call of message.tool_calls) {
      used.push(call.function.name);
      const result = await callTool(call.function.name, JSON.parse(call.function.arguments || "{}"));
      messages.push({ role: "tool", tool_call_id: call.id, content: JSON.stringify(result) });
    }
  }
  throw new Error(`no answer after ${MAX_TURNS} model turns`);
}

const start = await receive();
try {
  send({ type: "final_output", output: await solve(start.input) });
} catch (error) {
  send({ type: "task_error", message: `${error.name}: ${error.message}` });
}
lines.return?.();
process.stdin.destroy();
