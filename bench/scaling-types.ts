import type { MachineInfo } from './machine.ts';

export interface ScalingRow {
  readonly sizes: string;
  readonly params: number;
  /** `ok`, or why the compile failed. */
  readonly status: string;
  readonly seconds: number;
  readonly peakRssMiB?: number;
  readonly outputBytes?: number;
}

export interface ScalingResults {
  readonly machine: MachineInfo;
  readonly rssMethod: string;
  readonly cli: string;
  readonly rows: ScalingRow[];
}
