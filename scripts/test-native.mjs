// `npm run test:native`: configures and builds the native tree with plain CMake (tests on), runs ctest; then does
// the same with AddressSanitizer + UndefinedBehaviorSanitizer (CUDA off: the first build already compiled it); then
// the libFuzzer targets of native/fuzz/ (clang >= 15, ASan + UBSan): each replays its committed corpus
// (native/fuzz/corpus/<target>/, crash inputs included) and fuzzes for its share of MMI_FUZZ_SECONDS (default 60 in
// all). CI must have the fuzzer toolchain (.ci/run installs it): there a missing clang fails; elsewhere it skips,
// saying so.
// Flags: --no-sanitize skips the sanitizer build (quick local runs); --no-fuzz skips the fuzzers; --fuzz-only runs
// only them (the 10-minute run of bench/RESULTS.md: MMI_FUZZ_SECONDS=600 node scripts/test-native.mjs --fuzz-only);
// any other arguments go to ctest (e.g. -R dense).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const flags = ['--no-sanitize', '--no-fuzz', '--fuzz-only'];
const fuzzOnly = args.includes('--fuzz-only');
const sanitize = !args.includes('--no-sanitize') && !fuzzOnly;
const fuzz = !args.includes('--no-fuzz');
const ctestArgs = args.filter((a) => !flags.includes(a));
const fuzzTargets = ['safetensors', 'config', 'pattern_file'];
const jobs = '2'; // the CI machine and the team's workstation have two cores
const generator = spawnSync('ninja', ['--version']).status === 0 ? ['-G', 'Ninja'] : [];

function run(command, commandArgs, env = process.env) {
  console.log(`$ ${command} ${commandArgs.join(' ')}`);
  const r = spawnSync(command, commandArgs, { stdio: 'inherit', env });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function buildAndTest(dir, options, env) {
  const fresh = !existsSync(`${dir}/CMakeCache.txt`);
  run('cmake', ['-S', '.', '-B', dir, ...(fresh ? generator : []), '-DMMI_BUILD_TESTS=ON', ...options]);
  run('cmake', ['--build', dir, '-j', jobs]);
  run('ctest', ['--test-dir', dir, '--output-on-failure', '-j', jobs, ...ctestArgs], env);
}

if (!fuzzOnly) buildAndTest('build/native', ['-DCMAKE_BUILD_TYPE=Release']);
if (sanitize) {
  buildAndTest(
    'build/native-asan',
    ['-DCMAKE_BUILD_TYPE=RelWithDebInfo', '-DMMI_SANITIZE=ON', '-DMMI_CUDA=OFF'],
    {
      ...process.env,
      ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1:strict_string_checks=1',
      UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
    },
  );
}

/** The first clang++ new enough for the tree (_Float16 on x86-64 needs clang 15), or null. */
function findClang() {
  for (const name of ['clang++-19', 'clang++-18', 'clang++-17', 'clang++-16', 'clang++-15', 'clang++']) {
    const r = spawnSync(name, ['--version'], { encoding: 'utf8' });
    const major = Number(/clang version (\d+)/.exec(r.stdout ?? '')?.[1]);
    if (r.status === 0 && major >= 15) return { cxx: name, cc: name.replace('clang++', 'clang') };
  }
  return null;
}

function fuzzAll(seconds) {
  const clang = findClang();
  if (clang === null) {
    if (process.env.CI) {
      console.error('fuzz: no clang >= 15 with libFuzzer on CI (.ci/run installs it)');
      process.exit(1);
    }
    console.log('fuzz: skipped, no clang >= 15 here (apt-get install clang-16 libclang-rt-16-dev)');
    return;
  }
  const dir = 'build/native-fuzz';
  const fresh = !existsSync(`${dir}/CMakeCache.txt`);
  run('cmake', [
    '-S',
    '.',
    '-B',
    dir,
    ...(fresh ? generator : []),
    `-DCMAKE_C_COMPILER=${clang.cc}`,
    `-DCMAKE_CXX_COMPILER=${clang.cxx}`,
    '-DCMAKE_BUILD_TYPE=RelWithDebInfo',
    '-DMMI_FUZZ=ON',
    '-DMMI_CUDA=OFF',
    '-DMMI_BUILD_TESTS=OFF',
  ]);
  run('cmake', ['--build', dir, '-j', jobs, '--target', ...fuzzTargets.map((t) => `fuzz_${t}`)]);
  const env = {
    ...process.env,
    ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1',
    UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
  };
  const each = Math.max(1, Math.floor(seconds / fuzzTargets.length));
  for (const target of fuzzTargets) {
    const binary = path.join(dir, 'native', 'fuzz', `fuzz_${target}`);
    const corpus = path.join('native', 'fuzz', 'corpus', target);
    const seeds = readdirSync(corpus).map((f) => path.join(corpus, f));
    // Every committed input once: the regression test for what fuzzing found before.
    run(binary, seeds, env);
    // New inputs go to a scratch corpus, never into the repository's.
    const scratch = path.join(dir, 'corpus', target);
    const artifacts = path.join(dir, 'artifacts', target) + path.sep;
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    mkdirSync(artifacts, { recursive: true });
    run(
      binary,
      [
        `-max_total_time=${each}`,
        '-timeout=10',
        '-rss_limit_mb=2048',
        '-max_len=16384',
        '-print_final_stats=1',
        `-dict=${path.join('native', 'fuzz', 'json.dict')}`,
        `-artifact_prefix=${artifacts}`,
        scratch,
        corpus,
      ],
      env,
    );
  }
}

if (fuzz) fuzzAll(Number(process.env.MMI_FUZZ_SECONDS ?? 60));
