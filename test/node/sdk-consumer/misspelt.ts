/** A misspelt event name: must not compile (sdk-consumer.test.ts expects the error). */
import { MeetTime } from "meettime/client";

const conn = new MeetTime({ baseUrl: "http://127.0.0.1:8787" }).connect("meeting", "token");
conn.on("chat:new-mesage", (message) => console.log(message));
