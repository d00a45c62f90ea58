import fs from 'node:fs';
import os from 'node:os';

/** Read-only looks at /proc: memory and CPU of a process we started, and what else is running. */

/** A `Vm…:   123 kB` field of /proc/<pid>/status, in bytes; undefined once the process is gone. */
export function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

const CLOCK_TICKS = 100; // USER_HZ: 100 on every Linux this runs on.

/** User + system CPU seconds a process has used so far; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, so 11 and 12 after the state field.
    return (Number(rest[11]) + Number(rest[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** PIDs whose command line contains `needle` (only for looking, never for signalling). */
export function pidsWithCmdline(needle: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) found.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Other workloads that make timings noisy: jest runs, and the 1-minute load average. */
export function noise(): { jestProcesses: number; load1: number; cores: number } {
  return {
    jestProcesses: pidsWithCmdline('jest').length,
    load1: os.loadavg()[0] ?? 0,
    cores: os.cpus().length,
  };
}

/** Samples a process's VmRSS every `intervalMs`, keeping the peak. */
export class RssSampler {
  private timer: NodeJS.Timeout;
  peak = 0;
  samples = 0;

  constructor(
    private readonly pid: number,
    intervalMs = 100,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    const rss = procStatusBytes(this.pid, 'VmRSS');
    if (rss === undefined) return;
    this.samples++;
    if (rss > this.peak) this.peak = rss;
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

/** Watches for other workloads during the whole run: jest processes and the load average. */
export class NoiseMonitor {
  private timer: NodeJS.Timeout;
  samples = 0;
  samplesWithJest = 0;
  maxJestProcesses = 0;
  maxLoad1 = 0;

  constructor(intervalMs = 5000) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    const n = noise();
    this.samples++;
    if (n.jestProcesses > 0) this.samplesWithJest++;
    this.maxJestProcesses = Math.max(this.maxJestProcesses, n.jestProcesses);
    this.maxLoad1 = Math.max(this.maxLoad1, n.load1);
  }

  stop(): { samples: number; samplesWithJest: number; maxJestProcesses: number; maxLoad1: number } {
    this.sample();
    clearInterval(this.timer);
    const { samples, samplesWithJest, maxJestProcesses, maxLoad1 } = this;
    return { samples, samplesWithJest, maxJestProcesses, maxLoad1: Math.round(maxLoad1 * 100) / 100 };
  }
}
