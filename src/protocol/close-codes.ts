/**
 * WebSocket close codes of API.md, plus 1001 for a socket dropped for
 * silence. No runtime dependencies, so the meeting object and the browser
 * SDK read the same table.
 */
export const CLOSE = {
  NORMAL: 1000,
  SILENT: 1001,
  TERMINATED: 4000,
  KICKED: 4003,
  FLOODING: 4008,
  REPLACED: 4009,
} as const;
