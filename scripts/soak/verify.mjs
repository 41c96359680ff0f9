/**
 * The soak's verdicts, each a list of problems (empty is a pass): chat
 * delivered to every recipient exactly once and in order, signals never
 * doubled or misdirected and never lost on a connection that stayed open,
 * presence right in GET and in every client's own view, no unexpected error
 * or close code, and server memory flat.
 */

/** Every recipient got seq 1..last exactly once, in order, live or replayed; accepted texts all arrived. */
export function checkChat(meetings) {
  const problems = [];
  for (const meeting of meetings) {
    const expected = meeting.finalSeq;
    for (const p of meeting.participants) {
      const seqs = p.seqs;
      const inOrder = seqs.length === expected && seqs.every((seq, i) => seq === i + 1);
      if (!inOrder) {
        const seen = new Set();
        const duplicates = seqs.filter((seq) => seen.has(seq) || !seen.add(seq));
        const missing = [];
        for (let seq = 1; seq <= expected; seq++) if (!seen.has(seq)) missing.push(seq);
        const outOfOrder = seqs.findIndex((seq, i) => i > 0 && seq <= seqs[i - 1]);
        problems.push(
          `${p.name}: ${seqs.length} messages for ${expected} seqs; missing ${fmt(missing)}, duplicates ${fmt(duplicates)}` +
            (outOfOrder >= 0 ? `, out of order at #${outOfOrder}` : ""),
        );
      }
    }
    // Every acknowledged message is in the meeting's history as its sender wrote it.
    const reference = meeting.participants[0];
    const texts = new Set(reference.chatTexts.values());
    for (const text of meeting.ackedTexts)
      if (!texts.has(text)) problems.push(`${meeting.title}: acked "${text}" never delivered`);
  }
  return problems;
}

/** Signals: each received once, by its addressee, from its sender; none lost on a connection open from send to end. */
export function checkSignals(meetings, drainedAt) {
  const problems = [];
  let mustArrive = 0;
  for (const meeting of meetings) {
    const byId = new Map(meeting.signals.map((s) => [s.id, s]));
    for (const p of meeting.participants) {
      const seen = new Set();
      for (const got of p.signalsReceived) {
        const sent = byId.get(got.id);
        if (seen.has(got.id)) problems.push(`${p.name}: signal ${got.id} received twice`);
        seen.add(got.id);
        if (!sent) problems.push(`${p.name}: unknown signal ${got.id}`);
        else if (sent.to !== p.id || sent.from !== got.from) problems.push(`${p.name}: signal ${got.id} misdirected`);
      }
    }
    const received = new Map(meeting.participants.map((p) => [p.id, new Set(p.signalsReceived.map((s) => s.id))]));
    for (const signal of meeting.signals) {
      // Relayed to a connection open before the send and still open once traffic drained: it cannot have been lost.
      const target = signal.targetConnection;
      const stable = signal.acked && target && (target.closed === null || target.closed >= drainedAt);
      if (!stable) continue;
      mustArrive++;
      if (!received.get(signal.to)?.has(signal.id)) problems.push(`${meeting.title}: signal ${signal.id} lost`);
    }
  }
  return { problems, mustArrive };
}

/** GET shows `connected` exactly for the open sockets, and every open client's own view agrees. */
export function checkPresence(meetings, readings) {
  const problems = [];
  meetings.forEach((meeting, i) => {
    const truth = new Map(meeting.participants.map((p) => [p.id, p.open]));
    const listed = readings[i].participants;
    if (listed.length !== meeting.participants.length) {
      problems.push(`${meeting.title}: GET lists ${listed.length}, expected ${meeting.participants.length}`);
    }
    for (const p of listed) {
      if (truth.get(p.id) !== p.connected)
        problems.push(`${meeting.title}: GET says ${p.name} connected=${p.connected}`);
    }
    for (const p of meeting.participants.filter((q) => q.open)) {
      for (const [id, open] of truth) {
        if (p.presence.get(id) !== open) {
          problems.push(`${p.name} believes ${id} connected=${p.presence.get(id)}, truly ${open}`);
          break;
        }
      }
    }
  });
  return problems;
}

/** Error codes and close codes that the soak's traffic should never cause. */
export function checkErrorsAndCloses(participants) {
  const problems = [];
  const errors = tally(participants.map((p) => p.errors));
  const closes = tally(participants.map((p) => p.closeCodes));
  // NOT_FOUND: a signal addressed to someone who dropped a moment earlier; anything else is a finding.
  for (const [code, count] of errors) if (code !== "NOT_FOUND") problems.push(`${count} × error ${code}`);
  // 1000 ours (clean churn), 1005 no status, 1006 ours (abrupt churn); server-initiated codes are findings.
  for (const [code, count] of closes) if (![1000, 1005, 1006].includes(code)) problems.push(`${count} × close ${code}`);
  return { problems, errors: Object.fromEntries(errors), closes: Object.fromEntries(closes) };
}

/** Flat: the end is within 25% (+32 MiB slack) of the middle, once the server has warmed up. */
export function checkMemory(samples) {
  const { middle, end } = samples;
  if (middle == null || end == null) return [];
  return end > middle * 1.25 + 32 ? [`workerd RSS grew from ${middle} MiB (middle) to ${end} MiB (end)`] : [];
}

function tally(maps) {
  const total = new Map();
  for (const map of maps) for (const [key, count] of map) total.set(key, (total.get(key) ?? 0) + count);
  return total;
}

function fmt(list) {
  if (list.length === 0) return "none";
  return list.length > 8 ? `[${list.slice(0, 8).join(",")}, … ${list.length} in all]` : `[${list.join(",")}]`;
}
