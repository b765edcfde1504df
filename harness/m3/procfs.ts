/**
 * /proc/m3ipc files are line-oriented tables: a header line naming the columns,
 * then one record per line, fields separated by spaces; the last column may hold
 * spaces (a command name). Numbers stay strings unless asked for.
 */
export type Row = Record<string, string>;

export function parseTable(text: string): Row[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  const cols = lines[0]!.trim().split(/\s+/);
  return lines.slice(1).map((line) => {
    const fields = line.trim().split(/\s+/);
    const row: Row = {};
    cols.forEach((c, i) => {
      row[c] = i === cols.length - 1 ? fields.slice(i).join(' ') : (fields[i] ?? '');
    });
    return row;
  });
}

export function num(row: Row, col: string): number {
  const v = Number(row[col]);
  if (!Number.isFinite(v)) throw new Error(`column ${col} is not a number: ${JSON.stringify(row[col])}`);
  return v;
}
