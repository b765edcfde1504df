/*
 * The agent's one spawn point, node:child_process and not execa (the harness's
 * choice on the host): the agent is bundled into one CommonJS file that is
 * copied into each guest and started there by a cold `node` (~1 s under TCG).
 * execa's module graph would make that bundle ~250 kB where it is ~18 kB, for
 * nothing the agent uses: it needs a child, its pipes and its exit.
 */
export { spawn, type ChildProcess } from 'node:child_process';
