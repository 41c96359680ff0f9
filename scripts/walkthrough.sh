#!/usr/bin/env bash
# A meeting's life over REST with curl: create -> invite -> join ->
# reschedule (If-Match) -> kick -> terminate, checking every status on the way.
# Needs only bash, curl and node (for reading JSON fields; no jq).
#
#   npm run dev                                  # in another terminal
#   bash scripts/walkthrough.sh                  # BASE_URL defaults to http://127.0.0.1:8787
#   BASE_URL=http://127.0.0.1:8790 bash scripts/walkthrough.sh
set -euo pipefail

BASE_URL="${BASE_URL:-http://127.0.0.1:8787}"

# Prints the field at a dotted path (tokens.0.token) of the JSON document on stdin.
field() {
  node -e '
    let text = "";
    process.stdin.on("data", (chunk) => (text += chunk)).on("end", () => {
      let value = JSON.parse(text);
      for (const key of process.argv[1].split(".")) value = value?.[key];
      process.stdout.write(typeof value === "object" ? JSON.stringify(value) : String(value));
    });
  ' "$1"
}

# An ISO-8601 time in UTC, `minutes` from now.
minutes_from_now() {
  node -e 'process.stdout.write(new Date(Date.now() + Number(process.argv[1]) * 60000).toISOString())' "$1"
}

# call EXPECTED_STATUS METHOD PATH [curl options...]: prints the body; stops the walk on any other status.
call() {
  local expected=$1 method=$2 path=$3
  shift 3
  local response status body
  response=$(curl -sS -X "$method" "$BASE_URL$path" -w $'\n%{http_code}' "$@")
  status=${response##*$'\n'}
  body=${response%$'\n'*}
  if [[ "$status" != "$expected" ]]; then
    echo "FAILED: $method $path answered $status, expected $expected: $body" >&2
    exit 1
  fi
  echo "  $method $path -> $status" >&2
  printf '%s' "$body"
}

JSON=(-H "content-type: application/json")

echo "1. The host creates a meeting an hour from now"
created=$(call 201 POST /api/meetings/create "${JSON[@]}" -d "{
  \"title\": \"Weekly sync\", \"hostName\": \"Ada\", \"scheduledAt\": \"$(minutes_from_now 60)\",
  \"durationMinutes\": 30, \"timezone\": \"Europe/Berlin\"
}")
MEETING_ID=$(field meeting.id <<<"$created")
HOST_TOKEN=$(field hostToken <<<"$created")
HOST_AUTH=(-H "authorization: Bearer $HOST_TOKEN")
echo "   meeting $MEETING_ID, version $(field meeting.version <<<"$created")"

echo "2. The host mints a single-use invite"
minted=$(call 201 POST "/api/meetings/$MEETING_ID/tokens" "${HOST_AUTH[@]}" "${JSON[@]}" -d '{"count": 1}')
INVITE=$(field tokens.0.token <<<"$minted")
echo "   invite valid until $(field tokens.0.expiresAt <<<"$minted")"

echo "3. Grace joins with the invite; a second redemption is refused"
joined=$(call 200 POST /api/meetings/join "${JSON[@]}" -d "{\"token\": \"$INVITE\", \"displayName\": \"Grace\"}")
GRACE_ID=$(field participant.id <<<"$joined")
GRACE_TOKEN=$(field sessionToken <<<"$joined")
echo "   participant $GRACE_ID, WebSocket at $(field wsUrl <<<"$joined")"
reused=$(call 409 POST /api/meetings/join "${JSON[@]}" -d "{\"token\": \"$INVITE\", \"displayName\": \"Eve\"}")
echo "   $(field error.code <<<"$reused")"

echo "4. Grace reads the meeting with her session token"
read_back=$(call 200 GET "/api/meetings/$MEETING_ID" -H "authorization: Bearer $GRACE_TOKEN")
echo "   $(field meeting.participantCount <<<"$read_back") participants"

echo "5. The host moves it to two hours from now, if it is still at version 1"
moved=$(call 200 PUT "/api/meetings/$MEETING_ID/datetime" "${HOST_AUTH[@]}" "${JSON[@]}" -H 'If-Match: "1"' \
  -d "{\"scheduledAt\": \"$(minutes_from_now 120)\", \"durationMinutes\": 45}")
echo "   now at $(field meeting.scheduledAt <<<"$moved"), version $(field meeting.version <<<"$moved")"
stale=$(call 409 PUT "/api/meetings/$MEETING_ID/datetime" "${HOST_AUTH[@]}" "${JSON[@]}" -H 'If-Match: "1"' \
  -d '{"durationMinutes": 60}')
echo "   a stale edit: $(field error.code <<<"$stale"), current version $(field error.details.meeting.version <<<"$stale")"

echo "6. The host kicks Grace; her session token is revoked"
call 200 POST "/api/meetings/$MEETING_ID/kick" "${HOST_AUTH[@]}" "${JSON[@]}" \
  -d "{\"participantId\": \"$GRACE_ID\", \"reason\": \"wrong meeting\"}" >/dev/null
revoked=$(call 403 GET "/api/meetings/$MEETING_ID" -H "authorization: Bearer $GRACE_TOKEN")
echo "   $(field error.code <<<"$revoked")"

echo "7. The host ends the meeting; it stays readable until it expires"
ended=$(call 200 DELETE "/api/meetings/$MEETING_ID" "${HOST_AUTH[@]}")
echo "   status $(field meeting.status <<<"$ended"), data kept until $(field meeting.expiresAt <<<"$ended")"
again=$(call 410 DELETE "/api/meetings/$MEETING_ID" "${HOST_AUTH[@]}")
echo "   a second DELETE: $(field error.code <<<"$again")"

echo "Walk-through complete."
