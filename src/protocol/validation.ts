/**
 * zod failures in the contract's shape: `details.fields` maps each failing
 * field path to its messages, for REST bodies and WebSocket frames alike.
 */
import type { z } from "zod";

export function validationDetails(error: z.ZodError): { fields: Record<string, string[]> } {
  const fields: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const path = issue.path.map(String).join(".") || "(root)";
    const messages = fields[path] ?? [];
    messages.push(issue.message);
    fields[path] = messages;
  }
  return { fields };
}
