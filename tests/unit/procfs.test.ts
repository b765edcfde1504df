import { describe, expect, it } from 'vitest';
import { num, parseTable } from '../../harness/m3/procfs.ts';

describe('/proc/m3ipc tables', () => {
  it('names each field by its header column; the last column keeps its spaces', () => {
    const text = 'p_nr endpoint gen pid node priv state peer notify_pending msgs_sent msgs_rcvd comm\n0 65792 1 431 1 4 idle - 0 12 12 t_pairs\n-1 65791 1 432 1 3 receiving ANY 0 0 3 my server\n';
    const rows = parseTable(text);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ p_nr: '0', endpoint: '65792', pid: '431', state: 'idle', comm: 't_pairs' });
    expect(rows[1]!.comm).toBe('my server');
    expect(num(rows[0]!, 'msgs_sent')).toBe(12);
    expect(() => num(rows[0]!, 'peer')).toThrow(/not a number/);
  });

  it('a header alone is an empty table', () => {
    expect(parseTable('node_id sender_pid receiver_pid\n')).toEqual([]);
    expect(parseTable('')).toEqual([]);
  });
});
