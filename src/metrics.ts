/**
 * Service-wide counters in a Workers Analytics Engine dataset. Each event is
 * one data point: index1 and blob1 the event name, blob2 the meeting id
 * (empty for service events), blob3 a detail (route, action), double1 the
 * count. Without a METRICS binding every call is a no-op, so local runs and
 * tests need nothing. Writes are fire-and-forget: the runtime ships them
 * after the invocation, nothing is awaited on the request path.
 */
import { log } from "./log";

export const METRIC_EVENTS = [
  "meeting_created",
  "meeting_ended",
  "meeting_expired",
  "participant_joined",
  "chat_message",
  "rate_limited",
  "error",
] as const;

export type MetricEvent = (typeof METRIC_EVENTS)[number];

export interface MetricFields {
  meetingId?: string;
  detail?: string;
  count?: number;
}

/**
 * @example new ServiceMetrics(env.METRICS).count("meeting_created", { meetingId })
 */
export class ServiceMetrics {
  constructor(private readonly dataset: AnalyticsEngineDataset | undefined) {}

  get enabled(): boolean {
    return this.dataset !== undefined;
  }

  count(event: MetricEvent, fields: MetricFields = {}): void {
    if (!this.dataset) return;
    try {
      this.dataset.writeDataPoint({
        indexes: [event],
        blobs: [event, fields.meetingId ?? "", fields.detail ?? ""],
        doubles: [fields.count ?? 1],
      });
    } catch (error) {
      // Metrics never break a request.
      log("warn", "metrics.write_failed", { event, error: String(error) });
    }
  }
}
