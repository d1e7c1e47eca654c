// `npm run test:native`: configures and builds the native tree with plain CMake (tests on), runs ctest; then does
// the same with AddressSanitizer + UndefinedBehaviorSanitizer (CUDA off: the first build already compiled it).
// Flags: --no-sanitize skips the sanitizer build (quick local runs); any other arguments go to ctest (e.g. -R dense).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const args = process.argv.slice(2);
const sanitize = !args.includes('--no-sanitize');
const ctestArgs = args.filter((a) => a !== '--no-sanitize');
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

buildAndTest('build/native', ['-DCMAKE_BUILD_TYPE=Release']);
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
