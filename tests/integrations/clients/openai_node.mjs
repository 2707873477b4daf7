// The OpenAI Node.js SDK, used exactly as the Lumyx docs show it.
//   node openai_node.mjs stream|whole
// Reads LUMYX_BASE_URL (the server's /v1 URL), LUMYX_API_KEY, LUMYX_MODEL, LUMYX_PROMPT.
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.LUMYX_BASE_URL,
  apiKey: process.env.LUMYX_API_KEY,
});
const model = process.env.LUMYX_MODEL;
const messages = [{ role: "user", content: process.env.LUMYX_PROMPT }];

if (process.argv[2] === "stream") {
  const stream = await client.chat.completions.create({ model, messages, stream: true });
  for await (const chunk of stream) {
    process.stdout.write(chunk.choices[0]?.delta?.content || "");
  }
  process.stdout.write("\n");
} else {
  const completion = await client.chat.completions.create({ model, messages });
  console.log(completion.choices[0].message.content);
  console.error(JSON.stringify({ id: completion.id, model: completion.model, usage: completion.usage,
                                 finish_reason: completion.choices[0].finish_reason }));
}
