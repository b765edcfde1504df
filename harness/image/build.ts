import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { InfraError } from '../errors.ts';
import { cacheDir, guestIdentPath, guestInitPath, guestZygotePath, recipePath } from '../paths.ts';
import { writeCpio, type CpioEntry } from './cpio.ts';
import { fetchAll } from './debs.ts';
import { libraryClosure, resolveInRoot } from './elf.ts';
import { prepareHeaders } from './headers.ts';
import { indexModules, loadOrder } from './kmods.ts';
import { loadRecipe, type Recipe } from './recipe.ts';
import { labKey, type LabKey } from './sshkey.ts';
import { z } from 'zod';
import { parseJsonWith } from '../config/schema.ts';

/** Bump when the builder's output changes for the same inputs. */
const BUILDER_VERSION = 3;

/**
 * A built image's record (image.json). Damaged or short of a field (a build
 * killed while writing it, an older m3lab): no image, built again.
 */
const BuiltImageFile = z.looseObject({
  hash: z.string().min(1),
  name: z.string(),
  dir: z.string().min(1),
  kernel: z.string().min(1),
  initrd: z.string().min(1),
  release: z.string().min(1),
  headersDir: z.string().min(1),
  builtAt: z.string(),
  initrdBytes: z.number(),
});

function readBuiltImage(meta: string): Omit<BuiltImage, 'key'> | undefined {
  if (!existsSync(meta)) return undefined;
  try {
    return parseJsonWith(meta, BuiltImageFile, readFileSync(meta, 'utf8')) as Omit<BuiltImage, 'key'>;
  } catch (e) {
    process.stderr.write(`image: ${(e as Error).message}: building again\n`);
    return undefined;
  }
}

export interface BuiltImage {
  hash: string;
  name: string;
  dir: string;
  kernel: string;
  initrd: string;
  release: string;
  headersDir: string;
  key: LabKey;
  builtAt: string;
  initrdBytes: number;
}

/**
 * PID 1 stub: honours `init=` on the kernel command line as a real root filesystem
 * would (the kernel itself ignores init= when an initramfs has /init), so a bad
 * init= panics the guest; otherwise hands over to busybox init.
 */
const INIT_STUB = `#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
for word in $(/bin/busybox cat /proc/cmdline); do
	case "$word" in
	init=*) exec "\${word#init=}" ;;
	esac
done
exec /bin/busybox init
`;

const INITTAB = `::sysinit:/etc/m3lab/rc.sh
::ctrlaltdel:/sbin/poweroff -f
::shutdown:/bin/sync
`;

const ETC_FILES: Record<string, string> = {
  '/etc/inittab': INITTAB,
  '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  '/etc/group': 'root:x:0:\nnogroup:x:65534:\n',
  '/etc/shadow': 'root:*:19000:0:99999:7:::\n',
  '/etc/shells': '/bin/sh\n',
  '/etc/hosts': '127.0.0.1 localhost\n',
  '/etc/nsswitch.conf': 'passwd: files\ngroup: files\nhosts: files\n',
};

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function imageHash(recipe: Recipe, key: LabKey): Promise<string> {
  const h = createHash('sha256');
  h.update(`builder ${BUILDER_VERSION}\n`);
  h.update(readFileSync(recipePath));
  h.update(readFileSync(guestInitPath));
  h.update(INIT_STUB);
  h.update(INITTAB);
  h.update(key.publicKey);
  h.update(await sha256File(recipe.node));
  h.update(readFileSync(guestIdentPath));
  h.update(readFileSync(guestZygotePath));
  h.update(await compilerVersion());
  return h.digest('hex').slice(0, 16);
}

let ccVersion: string | undefined;
async function compilerVersion(): Promise<string> {
  ccVersion ??= (await execa('cc', ['--version'], { reject: false })).stdout.split('\n')[0] ?? '';
  return ccVersion;
}

/**
 * m3lab-ident (images/ident.c): reseeds a restored node's random pool and steps
 * its clock, which busybox cannot do. The host's compiler builds it static, so
 * it needs nothing from the image.
 */
async function buildIdent(dir: string): Promise<Buffer> {
  const out = path.join(dir, 'm3lab-ident');
  const res = await execa('cc', ['-static', '-Os', '-Wall', '-Wextra', '-Werror', '-o', out, guestIdentPath], { reject: false, all: true });
  if (res.exitCode !== 0) throw new InfraError(`cannot build ${guestIdentPath} (cc -static): ${res.all}`);
  return readFileSync(out);
}

type Log = (line: string) => void;

/** Returns the cached image for the current inputs, building it first when needed. */
export async function buildImage(opts: { force?: boolean; log?: Log } = {}): Promise<BuiltImage> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const cache = cacheDir();
  const recipe = loadRecipe(recipePath);
  if (!existsSync(recipe.node)) throw new InfraError(`node binary ${recipe.node} (recipe field node) does not exist`);
  const key = labKey(cache);
  const hash = await imageHash(recipe, key);
  const dir = path.join(cache, 'images', hash);
  const metaPath = path.join(dir, 'image.json');
  const cached = opts.force ? undefined : readBuiltImage(metaPath);
  if (cached) return { ...cached, key };

  const started = Date.now();
  log(`image ${recipe.name}: building ${hash} (inputs changed or not built yet)`);
  const pins = [recipe.kernel.image, ...recipe.kernel.headers, ...recipe.packages];
  const roots = await fetchAll(cache, pins, (pin, done, total) =>
    log(`image: [${done}/${total}] ${pin.package}=${pin.version}`),
  );
  const kernelRoot = roots.get(recipe.kernel.image.package)!;
  const headersDir = await prepareHeaders(cache, recipe.kernel.release, recipe.kernel.headers);
  log(`image: kernel headers ready in ${headersDir}`);

  const entries: CpioEntry[] = [];
  const dirs = new Set<string>();
  const addDir = (p: string) => {
    for (let d = p; d !== '/' && d !== '.'; d = path.dirname(d)) {
      if (dirs.has(d)) break;
      dirs.add(d);
      entries.push({ kind: 'dir', path: d });
    }
  };
  const addFile = (to: string, data: Buffer, mode = 0o644) => {
    addDir(path.dirname(to));
    entries.push({ kind: 'file', path: to, data, mode });
  };
  for (const d of ['/proc', '/sys', '/dev', '/tmp', '/run', '/root/.ssh', '/var/log', '/etc/dropbear', '/mnt', '/usr/sbin', '/sbin', '/usr/bin']) addDir(d);
  entries.push({ kind: 'chardev', path: '/dev/console', major: 5, minor: 1 });
  entries.push({ kind: 'chardev', path: '/dev/null', major: 1, minor: 3, mode: 0o666 });
  entries.push({ kind: 'file', path: '/init', data: Buffer.from(INIT_STUB), mode: 0o755 });
  addFile('/etc/m3lab/rc.sh', readFileSync(guestInitPath), 0o755);
  for (const [p, text] of Object.entries(ETC_FILES)) addFile(p, Buffer.from(text), p === '/etc/shadow' ? 0o600 : 0o644);
  addFile('/root/.ssh/authorized_keys', Buffer.from(`${key.publicKey}\n`), 0o600);

  // Kernel modules, in insmod order.
  const modDir = path.join(kernelRoot, 'lib', 'modules', recipe.kernel.release);
  if (!existsSync(modDir)) throw new InfraError(`kernel package has no modules for release ${recipe.kernel.release} (recipe field kernel.release)`);
  const order = loadOrder(recipe.kernel.modules, indexModules(modDir));
  const guestMods = order.map((file) => {
    const to = `/lib/modules/${recipe.kernel.release}/${path.relative(modDir, file)}`;
    addFile(to, readFileSync(file));
    return to;
  });
  addFile('/etc/m3lab/modules', Buffer.from(`${guestMods.join('\n')}\n`));

  // Programs and their shared-library closure.
  const pkgRoots = recipe.packages.map((p) => roots.get(p.package)!);
  const programFiles: string[] = [];
  for (const prog of recipe.programs) {
    const hit = pkgRoots.map((r) => resolveInRoot(r, prog.from)).find(Boolean);
    if (!hit) throw new InfraError(`program ${prog.from} (recipe field programs) is in none of the recipe's packages`);
    addFile(prog.to, readFileSync(hit), 0o755);
    programFiles.push(hit);
  }
  addFile('/usr/bin/node', readFileSync(recipe.node), 0o755);
  addFile('/usr/lib/m3lab/zygote.cjs', readFileSync(guestZygotePath));
  mkdirSync(cache, { recursive: true });
  const identDir = path.join(cache, `ident-${process.pid}`);
  mkdirSync(identDir, { recursive: true });
  try {
    addFile('/usr/bin/m3lab-ident', await buildIdent(identDir), 0o755);
  } finally {
    rmSync(identDir, { recursive: true, force: true });
  }
  const libs = await libraryClosure([...programFiles.filter((f) => !f.endsWith('busybox')), recipe.node], pkgRoots);
  const interp = pkgRoots.map((r) => resolveInRoot(r, 'lib64/ld-linux-x86-64.so.2')).find(Boolean);
  if (!interp) throw new InfraError('no dynamic loader ld-linux-x86-64.so.2 in the recipe packages (add libc6)');
  addFile('/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', readFileSync(interp), 0o755);
  addDir('/lib64');
  entries.push({ kind: 'symlink', path: '/lib64/ld-linux-x86-64.so.2', target: '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' });
  for (const [soname, file] of libs) {
    if (soname === 'ld-linux-x86-64.so.2') continue;
    addFile(`/lib/x86_64-linux-gnu/${soname}`, readFileSync(file), 0o755);
  }
  addDir('/usr/lib');
  entries.push({ kind: 'symlink', path: '/usr/lib/x86_64-linux-gnu', target: '/lib/x86_64-linux-gnu' });
  const meta = { hash, name: recipe.name, release: recipe.kernel.release };
  addFile('/etc/m3lab/image.json', Buffer.from(`${JSON.stringify(meta)}\n`));
  log(`image: ${entries.length} entries (${libs.size} libraries, ${order.length} kernel modules)`);

  const cpio = writeCpio(entries);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const initrd = path.join(tmp, 'initrd.img');
  if (recipe.compression === 'lz4') {
    // The kernel only unpacks lz4's legacy frame format (-l).
    const res = await execa('lz4', ['-l', '-9', '-q', '-f', '-', initrd], { input: cpio, reject: false, all: true });
    if (res.exitCode !== 0) throw new InfraError(`lz4 failed: ${res.all}`);
  } else {
    writeFileSync(initrd, gzipSync(cpio, { level: 6 }));
  }
  const vmlinuz = path.join(kernelRoot, 'boot', `vmlinuz-${recipe.kernel.release}`);
  if (!existsSync(vmlinuz)) throw new InfraError(`kernel package has no /boot/vmlinuz-${recipe.kernel.release}`);
  copyFileSync(vmlinuz, path.join(tmp, 'vmlinuz'));
  const image: BuiltImage = {
    hash,
    name: recipe.name,
    dir,
    kernel: path.join(dir, 'vmlinuz'),
    initrd: path.join(dir, 'initrd.img'),
    release: recipe.kernel.release,
    headersDir,
    key,
    builtAt: new Date().toISOString(),
    initrdBytes: statSync(initrd).size,
  };
  const { key: _omit, ...persisted } = image;
  writeFileSync(path.join(tmp, 'image.json'), `${JSON.stringify(persisted, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  log(`image: built ${hash} in ${((Date.now() - started) / 1000).toFixed(1)} s, initrd ${(image.initrdBytes / 1e6).toFixed(1)} MB`);
  return image;
}
