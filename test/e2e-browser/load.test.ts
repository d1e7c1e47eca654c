import { describe, expect, it } from 'vitest';
import { runLoad, type MemorySample } from '../../main/bench/load.js';
import { maxAsksInFlight } from '../../main/services/engine/service.js';

// The web host under load with counts small enough for CI (main/bench/load.ts; the full counts are
// `node dist/main/bench/load-bench.js`, recorded in bench/RESULTS.md): `mmi serve` in its own process on loopback,
// questions one after another on one socket, then more clients at once than the engine takes questions. Every
// request must be answered or refused with a code that says why, every finished job forgotten by the host, no
// process left beside the engine, and the memory of the host and its engine must not grow with the questions.
// Needs `npm run build`.

const asks = 12;
const clients = maxAsksInFlight + 4;

/** Growth from the first sample once the engine holds as many conversations' caches as it keeps (4, in
 * main/services/engine/runner.ts) to the last. */
function growth(samples: MemorySample[], of: 'hostRssMiB' | 'engineRssMiB'): number {
  const warm = samples.filter((s) => s.after >= 4);
  const first = warm[0]?.[of] ?? 0;
  return (warm.at(-1)?.[of] ?? 0) - (first ?? 0);
}

describe('the web host under load', () => {
  it(`answers ${asks} questions in a row and ${clients} clients at once, refusing only with reasons`, async () => {
    const report = await runLoad({ asks, clients, requestTimeoutMs: 120_000 });
    console.log(
      `load: ${asks} asks in ${report.sequential.seconds} s (host RSS +${growth(report.sequential.memory, 'hostRssMiB').toFixed(1)} MiB, ` +
        `engine +${growth(report.sequential.memory, 'engineRssMiB').toFixed(1)} MiB); ${clients} clients: ` +
        `${report.concurrent.requests} requests, ${report.concurrent.answered} answered, ` +
        `${report.concurrent.refused} refused ${JSON.stringify(report.concurrent.refusals)}, ${report.concurrent.lost} lost`,
    );
    expect(report.sequential).toMatchObject({ requests: asks, answered: asks, lost: 0, leakedJobs: 0 });
    expect(report.concurrent.losses).toEqual([]);
    expect(report.concurrent.leakedJobs).toBe(0);
    expect(report.concurrent.answered + report.concurrent.refused).toBe(report.concurrent.requests);
    // Each client's page requests and thumbnail are always answered; only questions may be refused, as busy.
    expect(report.concurrent.answered).toBeGreaterThanOrEqual(clients * 3);
    expect(Object.keys(report.concurrent.refusals).filter((code) => code !== 'ENGINE_BUSY')).toEqual([]);
    // More questions arrive together than the engine takes: the rest are refused at once, not queued.
    expect(report.concurrent.refusals['ENGINE_BUSY'] ?? 0).toBeGreaterThan(0);
    expect(report.strayProcesses).toEqual([]);
    expect(growth(report.sequential.memory, 'hostRssMiB')).toBeLessThan(32);
    expect(growth(report.sequential.memory, 'engineRssMiB')).toBeLessThan(64);
  }, 600_000);
});
