// `mmi search-patterns` and `mmi compare-patterns` on tiny-a and synthetic videos: the same command twice writes
// the same bytes, the file reads back and exports as PNG, SVG and CSV; Ctrl+C stops a search with its checkpoint
// kept and --resume finishes it to the bytes of an uninterrupted run; a comparison prints as JSON; bad input is one
// line `error CODE: message` and a non-zero exit.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ComparisonSchema, SearchOutcomeSchema } from '../../../app/contract/patterns.js';
import { parsePatternFile } from '../../../app/domain/pattern-file-check.js';
import { fixturePatternFile, hostileCases, readJsonFile, repoRoot } from '../../support/pattern-files.js';
import { mmi } from '../../support/run-cli.js';
import { syntheticVideo } from '../../support/synthetic-videos.js';
import { tinyA } from '../engine/support.js';
import { requireBuiltWorker } from './support.js';

let scratch: string;
let video: string;
const demo = path.join(repoRoot, 'models', 'qwen2_5_vl', 'demo', 'testsrc2-4s.mp4');

beforeAll(async () => {
  requireBuiltWorker();
  scratch = await mkdtemp(path.join(tmpdir(), 'mmi-search-cli-'));
  video = await syntheticVideo('normal');
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

function expectOneLineError(err: string, code: string): void {
  expect(err).toMatch(new RegExp(`^error ${code}: \\S[^\\n]*\\n$`));
}

describe('mmi search-patterns', () => {
  const budgets = [
    '--budget',
    'a_shape:sink_tokens=64,local_tokens=1/8',
    '--budget',
    'block_sparse:top_k_blocks=1/4',
    '--budget',
    'vertical_slash:vertical=45,slash=100',
    '--cost-target',
    '0.45',
  ];

  it('writes the same bytes twice; the file reads back and exports its grid and numbers', async () => {
    const a = path.join(scratch, 'a.json');
    const b = path.join(scratch, 'b.json');
    const exported = path.join(scratch, 'export');
    const base = ['search-patterns', '--model', tinyA, '--videos', demo, '--fps', '4', ...budgets];
    const first = await mmi(...base, '--out', a, '--json', '--export', exported, '--heatmaps', '0:0,2:1');
    expect(first.code, first.err).toBe(0);
    expect(first.err).toMatch(/^search: video 1\/1 layer 3\/3 \(3\/3 done\)$/m);
    const outcome = SearchOutcomeSchema.parse(JSON.parse(first.out));
    const second = await mmi(...base, '--out', b);
    expect(second.code, second.err).toBe(0);
    expect(second.out).toMatch(/^wrote .*b\.json in /);
    expect(second.out).toMatch(/^ {2}layer 2: /m);
    const text = await readFile(a, 'utf8');
    expect(await readFile(b, 'utf8')).toBe(text);

    const file = parsePatternFile(text, a);
    expect(file.search?.candidates.map((c) => c.pattern)).toEqual([
      'a_shape',
      'block_sparse',
      'vertical_slash',
    ]);
    expect(file.calibration?.inputs[0]?.name).toBe('testsrc2-4s.mp4');
    expect(outcome.summary.layers).toBe(3);

    const names = (await readdir(exported)).sort();
    expect(names).toEqual(
      [
        'grid.png',
        'grid.svg',
        'heads.csv',
        ...['0-H0', '2-H1'].flatMap((h) =>
          ['original', 'original-mask', 'permuted', 'permuted-mask'].map((v) => `heatmap-L${h}-${v}.png`),
        ),
      ].sort(),
    );
    const png = await readFile(path.join(exported, 'grid.png'));
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    const csv = (await readFile(path.join(exported, 'heads.csv'), 'utf8')).trimEnd().split('\r\n');
    expect(csv).toHaveLength(1 + 3 * 4);
    expect(csv[1]).toMatch(new RegExp(`^0,0,${file.layers[0]!.heads[0]!.pattern},`));
    expect(await readFile(path.join(exported, 'grid.svg'), 'utf8')).toMatch(/^<svg xmlns=/);
  });

  it('stops cleanly on Ctrl+C and --resume finishes it to the same bytes', async () => {
    const args = ['--model', tinyA, '--videos', video, demo, '--fps', '10'];
    const whole = path.join(scratch, 'whole.json');
    expect((await mmi('search-patterns', ...args, '--out', whole)).code).toBe(0);

    const out = path.join(scratch, 'interrupted.json');
    const child = spawn(
      process.execPath,
      [path.join(repoRoot, 'bin', 'mmi.js'), 'search-patterns', ...args, '--out', out],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let err = '';
    let interrupted = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      err += text;
      // One Ctrl+C after the first layer (a second one would end the process at once).
      if (!interrupted && /layer 1\/3 \(1\/6 done\)/.test(err)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, err).toBe(130);
    expect(err).toMatch(/^error CANCELLED: .*--resume/m);
    expect(existsSync(`${out}.ckpt`)).toBe(true);
    expect(existsSync(out)).toBe(false);

    const resumed = await mmi('search-patterns', ...args, '--out', out, '--resume');
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toMatch(/units from the checkpoint/);
    expect(resumed.out).toMatch(/ \(\d+ units from the checkpoint\)/);
    expect(await readFile(out, 'utf8')).toBe(await readFile(whole, 'utf8'));
    expect(existsSync(`${out}.ckpt`)).toBe(false);
  });

  it('refuses bad input with one line and a non-zero exit', async () => {
    const out = path.join(scratch, 'bad.json');
    const hostile = path.join(scratch, 'hostile-candidates.json');
    const [negative] = hostileCases(readJsonFile(fixturePatternFile('tiny-a'))).filter(
      (c) => c.kind === 'NegativeBudget',
    );
    await writeFile(hostile, negative!.text);
    const cases: [string[], string, number, RegExp][] = [
      [['--videos', demo], 'BAD_REQUEST', 2, /--out is required/],
      [['--out', out], 'BAD_REQUEST', 2, /--videos/],
      [
        ['--videos', demo, '--out', out, '--budget', 'block_sparse:top_k_blocks=-1'],
        'BAD_REQUEST',
        2,
        /negative/,
      ],
      [['--videos', demo, '--out', out, '--budget', 'diagonal:width=2'], 'BAD_REQUEST', 2, /pattern/],
      [
        ['--videos', demo, '--out', out, '--cost-target', 'lots'],
        'BAD_REQUEST',
        2,
        /--cost-target needs a number/,
      ],
      [
        ['--videos', demo, '--out', out, '--cost-target', '2'],
        'BAD_REQUEST',
        2,
        /--cost-target must be in \[0, 1\]/,
      ],
      [['--videos', path.join(scratch, 'missing.mp4'), '--out', out], 'FILE_NOT_FOUND', 1, /missing\.mp4/],
      [
        ['--videos', demo, '--out', out, '--candidates', hostile],
        'PATTERN_FILE_INVALID',
        1,
        /NegativeBudget: .*search\.candidates\[0\]/,
      ],
      [
        ['--videos', demo, '--out', path.join(scratch, 'no-such-dir', 'x.json')],
        'FILE_NOT_FOUND',
        1,
        /no-such-dir/,
      ],
    ];
    for (const [args, code, exit, message] of cases) {
      const r = await mmi('search-patterns', '--model', tinyA, ...args);
      expect(r.code, r.err).toBe(exit);
      expectOneLineError(r.err, code);
      expect(r.err).toMatch(message);
    }
    expect(existsSync(out)).toBe(false);
  });
});

describe('mmi compare-patterns', () => {
  it('prints the comparison as JSON, and refuses another model’s file', async () => {
    /** A file against dense attention on the demo clip, with tiny-a. */
    const againstDense = (file: string) => [
      'compare-patterns',
      '--model',
      tinyA,
      '--video',
      demo,
      file,
      '--dense',
    ];
    const json = await mmi(...againstDense(fixturePatternFile('tiny-a')), '--max-tokens', '4', '--json');
    expect(json.code, json.err).toBe(0);
    const c = ComparisonSchema.parse(JSON.parse(json.out));
    expect(c.runs.map((r) => [r.run, r.tokens.length])).toEqual([
      ['dense', 4],
      ['a', 4],
    ]);
    const text = await mmi(...againstDense(fixturePatternFile('tiny-a')));
    expect(text.out).toMatch(/^a {5}tiny-a\.json .*pre-fill \d+ ms \(predicted \d+ ms\)/m);

    const foreign = await mmi(...againstDense(fixturePatternFile('tiny-b')));
    expect(foreign.code).toBe(1);
    expectOneLineError(foreign.err, 'PATTERN_FILE_INVALID');
    expect(foreign.err).toMatch(/WrongModel: .*tiny-b\.json: model\./);
    const usage = await mmi('compare-patterns', '--video', demo, fixturePatternFile('tiny-a'));
    expect(usage.code).toBe(2);
    expectOneLineError(usage.err, 'BAD_REQUEST');
  });
});
