import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../harness/paths.ts';

/**
 * The top-level Vagrantfile (a Debian 12 VM for hosts that are not Debian) is
 * checked with Debian's `vagrant` (HOST_TOOLS in the Makefile installs it for
 * `make test`). No VM is booted here.
 *
 * `--ignore-provider`: plain `vagrant validate` first picks a usable provider
 * and fails with "No usable default provider could be found" where neither
 * libvirt (with the vagrant-libvirt plugin) nor VirtualBox is installed, as on
 * this project's machines. With the flag Vagrant still evaluates the whole file,
 * provider blocks included (a Ruby error in them fails), and validates the box,
 * synced folders and provisioners; it does not check the setting names inside
 * provider blocks (without the plugin, libvirt's block is not checked anyway).
 *
 * VAGRANT_CHECKPOINT_DISABLE=1: no version check over the network. VAGRANT_HOME
 * is a temporary folder, so the test neither needs nor touches ~/.vagrant.d.
 */
const vagrantHome = mkdtempSync(path.join(os.tmpdir(), 'm3lab-vagrant-home-'));
const scratch = mkdtempSync(path.join(os.tmpdir(), 'm3lab-vagrantfile-'));
afterAll(() => {
  rmSync(vagrantHome, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

async function validate(cwd: string, extraEnv: Record<string, string> = {}) {
  // The VM's knobs come from the environment: start from none of them.
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('M3LAB_VAGRANT_') && !k.startsWith('VAGRANT_')) env[k] = v;
  Object.assign(env, { VAGRANT_CHECKPOINT_DISABLE: '1', VAGRANT_HOME: vagrantHome }, extraEnv);
  const r = await execa('vagrant', ['validate', '--ignore-provider', '--no-tty', '--no-color'], { cwd, env, extendEnv: false, reject: false, all: true, timeout: 90_000 });
  // No exit code: vagrant did not start (not installed) or was killed by the timeout.
  if (r.exitCode === undefined) throw new Error(`cannot run vagrant (Debian package \`vagrant\`; \`make test\` installs it): ${r.message}`);
  return { exitCode: r.exitCode, output: r.all ?? '' };
}

/** A copy of the Vagrantfile in a folder of its own, with `from` replaced by `to`. */
function copyWith(name: string, from: string, to: string): string {
  const text = readFileSync(path.join(repoRoot, 'Vagrantfile'), 'utf8');
  expect(text).toContain(from);
  const out = mkdtempSync(path.join(scratch, `${name}-`));
  writeFileSync(path.join(out, 'Vagrantfile'), text.replace(from, to));
  return out;
}

describe('Vagrantfile', () => {
  const text = readFileSync(path.join(repoRoot, 'Vagrantfile'), 'utf8');

  it('is validated by vagrant validate', { timeout: 120_000 }, async () => {
    const r = await validate(repoRoot);
    expect(r.output).toContain('Vagrantfile validated successfully');
    expect(r.exitCode, r.output).toBe(0);
  });

  it('asks for Debian 12, nested KVM on both providers and the repo in /home/vagrant/m3lab', () => {
    expect(text).toMatch(/config\.vm\.box = 'debian\/bookworm64'/);
    expect(text).toMatch(/libvirt\.nested = true/);
    expect(text).toMatch(/libvirt\.cpu_mode = 'host-passthrough'/);
    expect(text).toContain("vb.customize ['modifyvm', :id, '--nested-hw-virt', 'on']");
    expect(text).toMatch(/synced_folder '\.', '\/home\/vagrant\/m3lab',\s+type: 'rsync'/);
    expect(text).toContain("vagrant ssh -c 'cd m3lab && sudo make lab'");
    // The provisioner fetches nothing from anywhere the file names: no URL at all.
    expect(text).not.toMatch(/[a-z]+:\/\//i);
  });

  it('fails on a broken Vagrantfile, so the check can fail', { timeout: 180_000 }, async () => {
    const unknownSetting = await validate(copyWith('setting', "config.vm.hostname = 'm3lab'", "config.vm.hostnamez = 'm3lab'"));
    expect(unknownSetting.exitCode).not.toBe(0);
    expect(unknownSetting.output).toContain("The following settings shouldn't exist: hostnamez");
    const noBox = await validate(copyWith('box', "config.vm.box = 'debian/bookworm64'", 'config.vm.box = nil'));
    expect(noBox.exitCode).not.toBe(0);
    expect(noBox.output).toContain('A box must be specified');
    const rubyError = await validate(copyWith('ruby', 'libvirt.nested = true', 'libvirt.nested = NOPE'));
    expect(rubyError.exitCode).not.toBe(0);
    expect(rubyError.output).toContain('uninitialized constant NOPE');
  });

  it('reads memory, CPUs and the Node.js archive from the environment', { timeout: 180_000 }, async () => {
    const dir = repoRoot;
    const ok = await validate(dir, { M3LAB_VAGRANT_MEMORY: '8192', M3LAB_VAGRANT_CPUS: '4' });
    expect(ok.exitCode, ok.output).toBe(0);
    const badMemory = await validate(dir, { M3LAB_VAGRANT_MEMORY: 'lots' });
    expect(badMemory.exitCode).not.toBe(0);
    expect(badMemory.output).toContain('invalid value for Integer(): "lots"');
    const node = path.join(scratch, 'node-v20.0.0-linux-x64.tar.xz');
    writeFileSync(node, '');
    expect((await validate(dir, { M3LAB_VAGRANT_NODE: node })).exitCode).toBe(0);
    const missing = await validate(dir, { M3LAB_VAGRANT_NODE: path.join(scratch, 'absent.tar.xz') });
    expect(missing.exitCode).not.toBe(0);
    expect(missing.output).toContain('absent.tar.xz: no such file');
  });
});
