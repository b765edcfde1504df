/**
 * A writer for the kernel's initramfs format ("newc" cpio). Written here rather than
 * shelling out to cpio(1) so device nodes such as /dev/console can be put in the
 * archive without root and the archive is byte-for-byte reproducible (fixed mtime,
 * sorted entries, our own inode numbers).
 */
export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Buffer; mode?: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(len: number): Buffer {
  return Buffer.alloc((4 - (len % 4)) % 4);
}

function header(fields: {
  ino: number;
  mode: number;
  nlink: number;
  size: number;
  rmajor: number;
  rminor: number;
  namesize: number;
}): Buffer {
  const parts = [
    '070701',
    hex8(fields.ino),
    hex8(fields.mode),
    hex8(0), // uid root
    hex8(0), // gid root
    hex8(fields.nlink),
    hex8(0), // mtime: fixed for reproducible images
    hex8(fields.size),
    hex8(0),
    hex8(0),
    hex8(fields.rmajor),
    hex8(fields.rminor),
    hex8(fields.namesize),
    hex8(0),
  ];
  return Buffer.from(parts.join(''), 'ascii');
}

function record(ino: number, name: string, mode: number, data: Buffer, rdev = [0, 0]): Buffer[] {
  const nameBuf = Buffer.from(`${name}\0`, 'utf8');
  const head = header({
    ino,
    mode,
    nlink: (mode & S_IFDIR) === S_IFDIR ? 2 : 1,
    size: data.length,
    rmajor: rdev[0]!,
    rminor: rdev[1]!,
    namesize: nameBuf.length,
  });
  const nameLen = head.length + nameBuf.length;
  return [head, nameBuf, pad4(nameLen), data, pad4(data.length)];
}

export function writeCpio(entries: CpioEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const chunks: Buffer[] = [];
  let ino = 1;
  for (const e of sorted) {
    const name = e.path.replace(/^\/+/, '');
    if (name === '') continue;
    switch (e.kind) {
      case 'dir':
        chunks.push(...record(ino++, name, S_IFDIR | (e.mode ?? 0o755), Buffer.alloc(0)));
        break;
      case 'file':
        chunks.push(...record(ino++, name, S_IFREG | (e.mode ?? 0o644), e.data));
        break;
      case 'symlink':
        chunks.push(...record(ino++, name, S_IFLNK | 0o777, Buffer.from(e.target, 'utf8')));
        break;
      case 'chardev':
        chunks.push(...record(ino++, name, S_IFCHR | (e.mode ?? 0o600), Buffer.alloc(0), [e.major, e.minor]));
        break;
    }
  }
  chunks.push(...record(0, 'TRAILER!!!', 0, Buffer.alloc(0)));
  return Buffer.concat(chunks);
}

/** Parses a newc archive back into entries: used by the unit tests and `image inspect`. */
export function readCpio(buf: Buffer): { path: string; mode: number; size: number; rdev: [number, number]; data: Buffer }[] {
  const out = [];
  let off = 0;
  for (;;) {
    const magic = buf.toString('ascii', off, off + 6);
    if (magic !== '070701') throw new Error(`bad cpio magic at ${off}: ${JSON.stringify(magic)}`);
    const field = (i: number) => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const rdev: [number, number] = [field(9), field(10)];
    const namesize = field(11);
    const nameStart = off + 110;
    const name = buf.toString('utf8', nameStart, nameStart + namesize - 1);
    let dataStart = nameStart + namesize;
    dataStart += (4 - (dataStart % 4)) % 4;
    const data = buf.subarray(dataStart, dataStart + size);
    off = dataStart + size;
    off += (4 - (off % 4)) % 4;
    if (name === 'TRAILER!!!') return out;
    out.push({ path: name, mode, size, rdev, data });
  }
}
