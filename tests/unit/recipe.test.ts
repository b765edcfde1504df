import { describe, expect, it } from 'vitest';
import { loadRecipe, parseRecipe } from '../../harness/image/recipe.ts';
import { recipePath } from '../../harness/paths.ts';
import { loadVariants } from '../../harness/image/kernel/variants.ts';

describe('image recipe', () => {
  it('the shipped recipe pins every package and matches kernel image to headers', () => {
    const r = loadRecipe(recipePath);
    expect(r.kernel.image.version).toBe(r.kernel.headers[0]!.version);
    expect(r.kernel.headers.map((h) => h.package)).toContain('linux-kbuild-6.1');
    // Every pin is a Debian version (epoch:upstream-revision), not a range or a word.
    for (const p of [r.kernel.image, ...r.kernel.headers, ...r.packages]) expect({ pkg: p.package, version: p.version }).toEqual({ pkg: p.package, version: expect.stringMatching(/^(\d+:)?\d[A-Za-z0-9.+~]*(-[A-Za-z0-9.+~]+)?$/) });
    // perf and the kernel variants built from source must be the same Debian build as the image kernel.
    expect(r.packages.find((p) => p.package === 'linux-perf')?.version).toBe(r.kernel.image.version);
    expect(loadVariants().source.version).toBe(r.kernel.image.version);
    expect(r.packages.map((p) => p.package)).toEqual(expect.arrayContaining(['busybox-static', 'dropbear-bin', 'linux-perf']));
    expect(r.kernel.modules).toEqual(expect.arrayContaining(['virtio_net', 'sch_netem', 'cls_u32']));
  });

  it('names the field of a bad recipe', () => {
    const base = 'name: x\nkernel: { release: r, image: { package: linux-image-x, version: "1" }, headers: [], modules: [] }\nprograms: []\nnode: /usr/bin/node\n';
    expect(() => parseRecipe(`${base}packages: [{ package: busybox-static }]\n`)).toThrow('packages[0].version: must be a non-empty string');
    // YAML reads an unquoted 6.1 as a number: refused, not silently turned into "6.1".
    expect(() => parseRecipe(base.replace('version: "1"', 'version: 6.1') + 'packages: []\n')).toThrow('kernel.image.version: must be a non-empty string, got number 6.1');
    expect(() => parseRecipe(`${base}packages: []\nextra: 1\n`)).toThrow(/^extra: unknown field/);
    expect(() => parseRecipe(`${base}packages: []\ncompression: xz\n`)).toThrow(/compression: must be one of lz4, gzip/);
  });
});
