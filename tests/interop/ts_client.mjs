// An agent written with the official TypeScript MCP SDK: connects to a hub virtual server with a
// bearer key, lists the tools, calls one, and prints what it saw as one JSON line.
//   node ts_client.mjs <streamable-http|sse> <url> <key> <tool> <json-args>
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";

const [kind, url, key, tool, args] = process.argv.slice(2);
const headers = { Authorization: `Bearer ${key}` };
const transport =
  kind === "sse"
    ? new SSEClientTransport(new URL(url), {
        requestInit: { headers },
        eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...init?.headers, ...headers } }) },
      })
    : new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });

const client = new Client({ name: "ts-interop", version: "1.0.0" });
await client.connect(transport);
const tools = await client.listTools();
const result = await client.callTool({ name: tool, arguments: JSON.parse(args) });
let missing;
try {
  await client.callTool({ name: "no_such_tool", arguments: {} });
} catch (err) {
  missing = { code: err.code, message: err.message };
}
console.log(
  JSON.stringify({
    protocolVersion: transport.protocolVersion ?? null,
    server: client.getServerVersion(),
    tools: tools.tools.map((t) => t.name),
    result,
    missing,
  }),
);
await client.close();
