import { parseArgs } from 'node:util';
import { runLoad } from './load.js';

// `node dist/main/bench/load-bench.js [--asks 200] [--clients 20] [--max-tokens 4]`: the web host under load
// (main/bench/load.ts), printed as JSON for bench/RESULTS.md. Loopback only; `npm run build` first.

const { values } = parseArgs({
  options: {
    asks: { type: 'string', default: '200' },
    clients: { type: 'string', default: '20' },
    'max-tokens': { type: 'string', default: '4' },
  },
});
const report = await runLoad({
  asks: Number(values.asks),
  clients: Number(values.clients),
  maxTokens: Number(values['max-tokens']),
});
console.log(JSON.stringify(report, null, 2));
const failed =
  report.sequential.lost +
  report.concurrent.lost +
  report.sequential.leakedJobs +
  report.concurrent.leakedJobs;
process.exitCode = failed === 0 && report.strayProcesses.length === 0 ? 0 : 1;
