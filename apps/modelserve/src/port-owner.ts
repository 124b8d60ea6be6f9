import { readdir, readFile, readlink } from 'node:fs/promises';

/** A process listening on a port: its id and command line. */
export interface PortOwner {
  pid: number;
  command: string;
}

/**
 * The process listening on TCP `port`, found through /proc (Linux): the listening sockets of the
 * port in /proc/net/tcp and tcp6, then the process holding one of them among those this user may
 * inspect. Undefined elsewhere, or when it cannot be told (another user's process).
 */
export async function portOwner(port: number): Promise<PortOwner | undefined> {
  if (process.platform !== 'linux') return undefined;
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (local === undefined || fields[3] !== '0A') continue; // 0A: LISTEN
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port && fields[9] !== undefined) inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  const pids = (await readdir('/proc').catch(() => [])).filter((name) => /^[0-9]+$/.test(name));
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
    for (const fd of fds) {
      const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[([0-9]+)\]$/.exec(link)?.[1];
      if (inode !== undefined && inodes.has(inode)) {
        const command = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean).join(' ');
        return { pid: Number(pid), command };
      }
    }
  }
  return undefined;
}

/** What to do about a port in use, naming the process that holds it when it can be told. */
export async function portInUseMessage(host: string, port: number): Promise<string> {
  const owner = await portOwner(port).catch(() => undefined);
  const who =
    owner === undefined
      ? ' (another modelserve?)'
      : ` by process ${owner.pid}${owner.command === '' ? '' : ` (${owner.command.length > 100 ? `${owner.command.slice(0, 97)}...` : owner.command})`}`;
  return `port ${port} on ${host} is in use${who}: stop it or pass --port`;
}
