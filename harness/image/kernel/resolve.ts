import { buildImage } from '../build.ts';
import { buildKernel } from './build.ts';
import { loadVariants, type KernelVariant } from './variants.ts';

/** What a node needs of its kernel: the image to boot and the tree to build modules against. */
export interface KernelInfo {
  variant: KernelVariant;
  kernel: string;
  release: string;
  /** `make -C <buildDir> M=...` builds an out-of-tree module for this kernel. */
  buildDir: string;
  /** Boot parameters of the variant (images/kernels/variants.yaml `append`). */
  append: string;
}

/**
 * The kernel of a variant, built first when it is missing: Debian's own for
 * `default` (with the image), linux-source builds for the others.
 */
export async function resolveKernel(variant: KernelVariant, log: (l: string) => void = () => {}): Promise<KernelInfo> {
  if (variant === 'default') {
    const image = await buildImage({ log });
    return { variant, kernel: image.kernel, release: image.release, buildDir: image.headersDir, append: '' };
  }
  const k = await buildKernel(variant, { log });
  const spec = loadVariants().variants.find((v) => v.name === variant);
  return { variant, kernel: k.kernel, release: k.release, buildDir: k.buildDir, append: spec?.append ?? '' };
}

/** Resolves each distinct variant once, in order (kernel builds use every core). */
export async function resolveKernels(variants: KernelVariant[], log: (l: string) => void = () => {}): Promise<Map<KernelVariant, KernelInfo>> {
  const out = new Map<KernelVariant, KernelInfo>();
  for (const v of variants) if (!out.has(v)) out.set(v, await resolveKernel(v, log));
  return out;
}
