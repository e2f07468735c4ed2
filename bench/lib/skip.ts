// bench/run calls this for a benchmark whose servers are down: each of its rows is recorded as skipped, with the
// reason (and the figures of the last run that did measure it, labelled as such) in the note.
//   bench/lib/skip.ts REASON ROW...
import { recordSkipped } from '../results';

const [reason, ...rows] = process.argv.slice(2);
if (!reason || rows.length === 0) throw new Error('usage: bench/lib/skip.ts REASON ROW...');
for (const row of rows) recordSkipped(row, reason);
